import Crypto
public import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {
    public func putPushCredentials(_ provider: PushCredentialKind, secret: Data, in app: AppID) async throws {
        let sealed = try await appKey(app).seal(secret, context: SealingContext.pushCredential(app: app, provider: provider))
        let time = nowMilliseconds()
        try await database.execute(
            """
            INSERT INTO pushCredential (appID, provider, sealed, updatedAt) VALUES (\(app), \(provider), \(sealed), \(time))
            ON CONFLICT (appID, provider) DO UPDATE SET sealed = excluded.sealed, updatedAt = excluded.updatedAt
            """)
    }

    public func pushCredentials(_ provider: PushCredentialKind, of app: AppID) async throws -> Data? {
        guard let sealed = try await database.value(
            "SELECT sealed FROM pushCredential WHERE appID = \(app) AND provider = \(provider)", as: Data.self)
        else { return nil }
        return try await appKey(app).open(sealed, context: SealingContext.pushCredential(app: app, provider: provider))
    }

    public func deletePushCredentials(_ provider: PushCredentialKind, of app: AppID) async throws -> Bool {
        !(try await database.rows("DELETE FROM pushCredential WHERE appID = \(app) AND provider = \(provider) RETURNING 1").isEmpty)
    }

    /// Kept with the provider credentials under the provider name `vapid`; the first of several nodes to
    /// insert it wins, and every node reads that one back.
    public func vapidKey(of app: AppID) async throws -> Data {
        if let existing = try await pushCredentials(.vapid, of: app) { return existing }
        let fresh = P256.Signing.PrivateKey().rawRepresentation
        let sealed = try await appKey(app).seal(fresh, context: SealingContext.pushCredential(app: app, provider: .vapid))
        try await database.execute(
            """
            INSERT INTO pushCredential (appID, provider, sealed, updatedAt) VALUES (\(app), 'vapid', \(sealed), \(nowMilliseconds()))
            ON CONFLICT DO NOTHING
            """)
        guard let stored = try await pushCredentials(.vapid, of: app) else { throw HeraldError.notFound(resource: "app") }
        return stored
    }

    public func recordPushDeliveries(_ deliveries: [PushDelivery], app: AppID) async throws {
        guard !deliveries.isEmpty else { return }
        try await database.transaction { connection in
            for delivery in deliveries {
                try await connection.execute(
                    """
                    INSERT INTO pushDelivery (appID, userID, deviceID, platform, subject, subjectID, attempt, outcome, statusCode, reason, at)
                    VALUES (\(app), \(delivery.userId), \(delivery.deviceId), \(delivery.platform),
                        \(delivery.subject), \(delivery.subjectId), \(Int64(delivery.attempt)), \(delivery.outcome),
                        \(delivery.statusCode.map(Int64.init)), \(delivery.reason.map { String($0.prefix(300)) }), \(WireTime.milliseconds(delivery.at)))
                    """)
            }
        }
    }

    public func pushDeliveries(of user: UserID?, in app: AppID, limit: Int, before: Int64?) async throws -> [(id: Int64, delivery: PushDelivery)] {
        try await database.rows(
            """
            SELECT \(unescaped: PushDeliveryRecord.columns) FROM pushDelivery
            WHERE appID = \(app) AND (\(user)::text IS NULL OR userID = \(user)) AND id < \(before ?? Int64.max)
            ORDER BY id DESC LIMIT \(Int64(limit))
            """
        ).map { try PushDeliveryRecord(postgres: $0).delivery }
    }

    public func settleMessagePushes(_ settlements: [(message: MessageID, offline: [UserID])]) async throws {
        guard !settlements.isEmpty else { return }
        let time = nowMilliseconds()
        let grace = Int64(OutboxKind.pushGrace * 1000)
        let removed = settlements.filter(\.offline.isEmpty).map(\.message.rawValue)
        let settled = settlements.filter { !$0.offline.isEmpty }
        try await database.transaction { connection in
            // Only rows no worker has claimed yet (a claim moves `availableAt` a lease ahead): a claimed
            // row is already going to every member but the sender.
            if !removed.isEmpty {
                try await connection.execute(
                    """
                    DELETE FROM outbox WHERE kind = \(OutboxKind.messagePush) AND subjectID = ANY(\(removed)) AND attempts = 0 AND availableAt <= createdAt + \(grace)
                    """)
            }
            for (message, offline) in settled {
                let recipients = String(decoding: JSONValue.array(offline.map { .string($0.rawValue) }).canonicalData(), as: UTF8.self)
                try await connection.execute(
                    """
                    UPDATE outbox SET availableAt = \(time), payload = jsonb_set(payload::jsonb, '{recipients}', \(recipients)::jsonb)::text
                    WHERE kind = \(OutboxKind.messagePush) AND subjectID = \(message) AND attempts = 0 AND availableAt <= createdAt + \(grace)
                    """)
            }
        }
    }
}
