import Crypto
public import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {

    public func putPushCredentials(_ provider: PushCredentialKind, secret: Data, in app: AppID) async throws {
        let sealed = try appKey(app).seal(secret, context: SealingContext.pushCredential(app: app, provider: provider))
        let time = nowMilliseconds()
        try await pool.write { db in
            guard try AppRecord.exists(db, key: app.rawValue) else { throw HeraldError.notFound(resource: "app") }
            try db.execute(
                sql: "INSERT OR REPLACE INTO pushCredential (appID, provider, sealed, updatedAt) VALUES (?, ?, ?, ?)",
                arguments: [app.rawValue, provider.rawValue, sealed, time])
        }
    }

    public func pushCredentials(_ provider: PushCredentialKind, of app: AppID) async throws -> Data? {
        let sealed = try await pool.read { db in
            try Data.fetchOne(db, sql: "SELECT sealed FROM pushCredential WHERE appID = ? AND provider = ?", arguments: [app.rawValue, provider.rawValue])
        }
        return try sealed.map { try self.appKey(app).open($0, context: SealingContext.pushCredential(app: app, provider: provider)) }
    }

    public func deletePushCredentials(_ provider: PushCredentialKind, of app: AppID) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM pushCredential WHERE appID = ? AND provider = ?", arguments: [app.rawValue, provider.rawValue])
            return db.changesCount > 0
        }
    }

    /// Kept with the provider credentials under the provider name `vapid`, sealed the same way.
    public func vapidKey(of app: AppID) async throws -> Data {
        if let existing = try await pushCredentials(.vapid, of: app) { return existing }
        let fresh = P256.Signing.PrivateKey().rawRepresentation
        let sealed = try appKey(app).seal(fresh, context: SealingContext.pushCredential(app: app, provider: .vapid))
        let time = nowMilliseconds()
        let stored = try await pool.write { db -> Data in
            guard try AppRecord.exists(db, key: app.rawValue) else { throw HeraldError.notFound(resource: "app") }
            // Checked again inside the write: two first calls at once must agree on one key.
            if let again = try Data.fetchOne(db, sql: "SELECT sealed FROM pushCredential WHERE appID = ? AND provider = '\(PushCredentialKind.vapid.rawValue)'", arguments: [app.rawValue]) {
                return again
            }
            try db.execute(
                sql: "INSERT INTO pushCredential (appID, provider, sealed, updatedAt) VALUES (?, 'vapid', ?, ?)", arguments: [app.rawValue, sealed, time])
            return sealed
        }
        return try appKey(app).open(stored, context: SealingContext.pushCredential(app: app, provider: .vapid))
    }

    public func recordPushDeliveries(_ deliveries: [PushDelivery], app: AppID) async throws {
        guard !deliveries.isEmpty else { return }
        try await pool.write { db in
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO pushDelivery (appID, userID, deviceID, platform, subject, subjectID, attempt, outcome, statusCode, reason, at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for delivery in deliveries {
                try insert.execute(arguments: [
                    app.rawValue, delivery.userId.rawValue, delivery.deviceId.rawValue, delivery.platform.rawValue, delivery.subject.rawValue,
                    delivery.subjectId, delivery.attempt, delivery.outcome.rawValue, delivery.statusCode, delivery.reason.map { String($0.prefix(300)) },
                    WireTime.milliseconds(delivery.at),
                ])
            }
        }
    }

    public func pushDeliveries(of user: UserID?, in app: AppID, limit: Int, before: Int64?) async throws -> [(id: Int64, delivery: PushDelivery)] {
        try await pool.read { db in
            var sql = "SELECT * FROM pushDelivery WHERE appID = ?"
            var arguments: StatementArguments = [app.rawValue]
            if let user {
                sql += " AND userID = ?"
                arguments += [user.rawValue]
            }
            if let before {
                sql += " AND id < ?"
                arguments += [before]
            }
            sql += " ORDER BY id DESC LIMIT ?"
            arguments += [limit]
            return try PushDeliveryRecord.fetchAll(db, sql: sql, arguments: arguments).map(\.delivery)
        }
    }

    public func settleMessagePushes(_ settlements: [(message: MessageID, offline: [UserID])]) async throws {
        guard !settlements.isEmpty else { return }
        let time = nowMilliseconds()
        let grace = Int64(OutboxKind.pushGrace * 1000)
        // Only rows no worker has claimed yet (a claim moves `availableAt` a lease ahead): a claimed row
        // is already going to every member but the sender.
        let unclaimed = "kind = '\(OutboxKind.messagePush.rawValue)' AND subjectID = ? AND attempts = 0 AND availableAt <= createdAt + \(grace)"
        try await pool.write { db in
            let remove = try db.cachedStatement(sql: "DELETE FROM outbox WHERE \(unclaimed)")
            let settle = try db.cachedStatement(sql: "UPDATE outbox SET availableAt = ?, payload = json_set(payload, '$.recipients', json(?)) WHERE \(unclaimed)")
            for (message, offline) in settlements {
                if offline.isEmpty {
                    try remove.execute(arguments: [message.rawValue])
                } else {
                    let recipients = JSONValue.array(offline.map { .string($0.rawValue) }).canonicalData()
                    try settle.execute(arguments: [time, String(decoding: recipients, as: UTF8.self), message.rawValue])
                }
            }
        }
    }
}
