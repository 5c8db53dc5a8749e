import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {

    public func putWebhook(url: String, events: [WebhookEvent], secret: String, in app: AppID) async throws -> Webhook {
        let time = nowMilliseconds()
        let sealed = try appKey(app).seal(Data(secret.utf8), context: SealingContext.webhookSecret(app))
        let eventList = String(decoding: try JSONEncoder().encode(events), as: UTF8.self)
        try await pool.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO webhook (appID, url, events, sealedSecret, createdAt) VALUES (?, ?, ?, ?, ?)",
                arguments: [app.rawValue, url, eventList, sealed, time])
        }
        return Webhook(url: url, events: events, createdAt: WireTime.date(milliseconds: time))
    }

    public func webhook(of app: AppID) async throws -> (webhook: Webhook, secret: String)? {
        guard let row = try await pool.read({ db in try Row.fetchOne(db, sql: "SELECT * FROM webhook WHERE appID = ?", arguments: [app.rawValue]) }) else {
            return nil
        }
        let secret = try appKey(app).open(row["sealedSecret"], context: SealingContext.webhookSecret(app))
        let events = try JSONDecoder().decode([WebhookEvent].self, from: Data((row["events"] as String).utf8))
        return (Webhook(url: row["url"], events: events, createdAt: WireTime.date(milliseconds: row["createdAt"])), String(decoding: secret, as: UTF8.self))
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
            try Row.fetchAll(
                db, sql: "SELECT * FROM webhookDelivery WHERE appID = ? AND id < ? ORDER BY id DESC LIMIT ?",
                arguments: [app.rawValue, before ?? Int64.max, limit]
            ).map { row in
                (
                    row["id"],
                    WebhookDelivery(
                        messageId: row["messageID"], event: row["event"], attempt: row["attempt"], url: row["url"], statusCode: row["statusCode"],
                        error: row["error"], durationMilliseconds: row["durationMilliseconds"], at: WireTime.date(milliseconds: row["at"]),
                        outcome: try row.decode(forColumn: "outcome"))
                )
            }
        }
    }
}
