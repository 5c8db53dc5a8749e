import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {

    public func putWebhook(url: String, events: [WebhookEvent], secret: String, in app: AppID) async throws -> Webhook {
        let time = nowMilliseconds()
        let record = try WebhookRecord(url: url, events: events, secret: secret, app: app, appKey: try appKey(app), at: time)
        try await pool.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO webhook (appID, url, events, sealedSecret, createdAt) VALUES (?, ?, ?, ?, ?)",
                arguments: [app, record.url, record.events, record.sealedSecret, record.createdAt])
        }
        return Webhook(url: url, events: events, createdAt: WireTime.date(milliseconds: time))
    }

    public func webhook(of app: AppID) async throws -> (webhook: Webhook, secret: String)? {
        try await pool.read { db in try WebhookRecord.fetchOne(db, sql: "SELECT * FROM webhook WHERE appID = ?", arguments: [app]) }?
            .webhook(app: app, appKey: try appKey(app))
    }

    public func deleteWebhook(of app: AppID) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM webhook WHERE appID = ?", arguments: [app.rawValue])
            return db.changesCount > 0
        }
    }

    public func recordDelivery(_ delivery: WebhookDelivery, app: AppID) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO webhookDelivery (appID, messageID, event, attempt, url, statusCode, error, durationMilliseconds, at, outcome)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    app.rawValue, delivery.messageId, delivery.event, delivery.attempt, delivery.url, delivery.statusCode, delivery.error,
                    delivery.durationMilliseconds, WireTime.milliseconds(delivery.at), delivery.outcome.rawValue,
                ])
        }
    }

    public func deliveries(of app: AppID, limit: Int, before: Int64?) async throws -> [(id: Int64, delivery: WebhookDelivery)] {
        try await pool.read { db in
            try WebhookDeliveryRecord.fetchAll(
                db, sql: "SELECT * FROM webhookDelivery WHERE appID = ? AND id < ? ORDER BY id DESC LIMIT ?", arguments: [app, before ?? Int64.max, limit]
            ).map(\.delivery)
        }
    }
}
