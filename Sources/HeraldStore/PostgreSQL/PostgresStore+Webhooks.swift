import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {

    public func putWebhook(url: String, events: [WebhookEvent], secret: String, in app: AppID) async throws -> Webhook {
        let time = nowMilliseconds()
        let sealed = try await appKey(app).seal(Data(secret.utf8), context: SealingContext.webhookSecret(app))
        let eventList = String(decoding: try JSONEncoder().encode(events), as: UTF8.self)
        try await database.execute(
            """
            INSERT INTO webhook (appID, url, events, sealedSecret, createdAt) VALUES (\(app), \(url), \(eventList), \(sealed), \(time))
            ON CONFLICT (appID) DO UPDATE SET url = excluded.url, events = excluded.events, sealedSecret = excluded.sealedSecret,
                createdAt = excluded.createdAt
            """)
        return Webhook(url: url, events: events, createdAt: WireTime.date(milliseconds: time))
    }

    public func webhook(of app: AppID) async throws -> (webhook: Webhook, secret: String)? {
        guard let row = try await database.rows("SELECT url, events, sealedSecret, createdAt FROM webhook WHERE appID = \(app)").first else {
            return nil
        }
        let (url, eventList, sealed, createdAt) = try row.decode((String, String, Data, Int64).self)
        let secret = try await appKey(app).open(sealed, context: SealingContext.webhookSecret(app))
        let events = try JSONDecoder().decode([WebhookEvent].self, from: Data(eventList.utf8))
        return (Webhook(url: url, events: events, createdAt: WireTime.date(milliseconds: createdAt)), String(decoding: secret, as: UTF8.self))
    }

    public func deleteWebhook(of app: AppID) async throws -> Bool {
        !(try await database.rows("DELETE FROM webhook WHERE appID = \(app) RETURNING 1").isEmpty)
    }

    public func recordDelivery(_ delivery: WebhookDelivery, app: AppID) async throws {
        try await database.execute(
            """
            INSERT INTO webhookDelivery (appID, messageID, event, attempt, url, statusCode, error, durationMilliseconds, at, outcome)
            VALUES (\(app), \(delivery.messageId), \(delivery.event), \(Int64(delivery.attempt)), \(delivery.url),
                \(delivery.statusCode.map(Int64.init)), \(delivery.error), \(Int64(delivery.durationMilliseconds)), \(WireTime.milliseconds(delivery.at)),
                \(delivery.outcome))
            """)
    }

    public func deliveries(of app: AppID, limit: Int, before: Int64?) async throws -> [(id: Int64, delivery: WebhookDelivery)] {
        try await database.rows(
            """
            SELECT id, messageID, event, attempt, url, statusCode, error, durationMilliseconds, at, outcome FROM webhookDelivery
            WHERE appID = \(app) AND id < \(before ?? Int64.max) ORDER BY id DESC LIMIT \(Int64(limit))
            """
        ).map { row in
            let (id, messageID, event, attempt, url, statusCode, error, duration, at, outcome) = try row.decode(
                (Int64, String, String, Int64, String, Int64?, String?, Int64, Int64, WebhookDelivery.Outcome).self)
            return (
                id,
                WebhookDelivery(
                    messageId: messageID, event: event, attempt: Int(attempt), url: url, statusCode: statusCode.map(Int.init), error: error,
                    durationMilliseconds: Int(duration), at: WireTime.date(milliseconds: at), outcome: outcome)
            )
        }
    }
}
