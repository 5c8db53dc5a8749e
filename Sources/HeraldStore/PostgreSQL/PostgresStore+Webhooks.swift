import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {

    public func putWebhook(url: String, events: [WebhookEvent], secret: String, in app: AppID) async throws -> Webhook {
        let time = nowMilliseconds()
        let record = try WebhookRecord(url: url, events: events, secret: secret, app: app, appKey: try await appKey(app), at: time)
        try await database.execute(
            """
            INSERT INTO webhook (appID, url, events, sealedSecret, createdAt)
            VALUES (\(app), \(record.url), \(record.events), \(record.sealedSecret), \(record.createdAt))
            ON CONFLICT (appID) DO UPDATE SET url = excluded.url, events = excluded.events, sealedSecret = excluded.sealedSecret,
                createdAt = excluded.createdAt
            """)
        return Webhook(url: url, events: events, createdAt: WireTime.date(milliseconds: time))
    }

    public func webhook(of app: AppID) async throws -> (webhook: Webhook, secret: String)? {
        guard let row = try await database.rows("SELECT \(unescaped: WebhookRecord.columns) FROM webhook WHERE appID = \(app)").first else { return nil }
        return try WebhookRecord(postgres: row).webhook(app: app, appKey: try await appKey(app))
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
            SELECT \(unescaped: WebhookDeliveryRecord.columns) FROM webhookDelivery
            WHERE appID = \(app) AND id < \(before ?? Int64.max) ORDER BY id DESC LIMIT \(Int64(limit))
            """
        ).map { try WebhookDeliveryRecord(postgres: $0).delivery }
    }
}
