import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {
    public func registerDevice(
        _ device: NewDevice, for user: UserID, in app: AppID, effects: @escaping @Sendable (Device) -> [OutboxEntry]
    ) async throws -> DeviceRegistration {
        let time = nowMilliseconds()
        let appKey = try await appKey(app)
        return try await database.transaction { connection in
            // Two advisory locks, always in this order: the token's (one registration of a token at a
            // time, whichever user and node) and the user's (so the per-user limit holds across nodes);
            // then the row itself, so an activation committing meanwhile is not written back to pending.
            try await connection.execute(
                """
                SELECT pg_advisory_xact_lock(hashtextextended(\("device|" + app.rawValue + "|" + device.platform.rawValue + "|" + device.token), 0)),
                    pg_advisory_xact_lock(hashtextextended(\("user|" + app.rawValue + "|" + user.rawValue), 0))
                """)
            let existing = try await connection.rows(
                """
                SELECT \(unescaped: DeviceRecord.postgresColumns) FROM device
                WHERE appID = \(app) AND platform = \(device.platform) AND token = \(device.token) FOR UPDATE
                """
            ).first.map(DeviceRecord.init(postgres:))
            let decision = try DeviceRules.decide(device, id: .generate(), for: user, in: app, existing: existing, appKey: appKey, at: time)
            switch decision {
            case .update(let record, _):
                try await connection.execute(
                    """
                    UPDATE device SET subscription = \(record.subscription), stepUpKey = \(record.stepUpKey), stepUpState = \(record.stepUpState),
                        stepUpActivatedAt = \(record.stepUpActivatedAt), stepUpTag = \(record.stepUpTag), updatedAt = \(record.updatedAt)
                    WHERE id = \(record.id)
                    """)
            case .insert(let record, let replacing):
                if let replacing { try await connection.execute("DELETE FROM device WHERE id = \(replacing.id)") }
                try DeviceRules.checkRoom(
                    devicesOfUser: try await connection.value("SELECT count(*) FROM device WHERE appID = \(app) AND userID = \(user)", as: Int.self)
                        ?? 0)
                try await connection.execute(
                    """
                    INSERT INTO device (id, appID, userID, platform, token, subscription, stepUpKey, stepUpState, stepUpTag, createdAt, updatedAt)
                    VALUES (\(record.id), \(record.appID), \(record.userID), \(record.platform), \(record.token), \(record.subscription),
                        \(record.stepUpKey), \(record.stepUpState), \(record.stepUpTag), \(record.createdAt), \(record.updatedAt))
                    """)
            }
            let outcome = try DeviceRules.outcome(of: decision, appKey: appKey, effects: effects)
            try await Self.insertOutbox(try OutboxRow.rows(outcome.effects, app: app, appKey: appKey), app: app, now: time, on: connection)
            return outcome.registration
        }
    }

    public func activateStepUpKey(
        of id: DeviceID, of user: UserID, in app: AppID, effects: @escaping @Sendable (Device) -> [OutboxEntry]
    ) async throws -> (device: Device, changed: Bool) {
        let time = nowMilliseconds()
        let appKey = try await appKey(app)
        return try await database.transaction { connection in
            guard let record = try await Self.deviceRecord(id, of: user, in: app, on: connection, lock: true) else {
                throw HeraldError.notFound(resource: "device")
            }
            let activated = try DeviceRules.activated(record, at: time, appKey: appKey)
            guard activated != record else { return (try record.device(appKey: appKey), false) }
            try await connection.execute(
                """
                UPDATE device SET stepUpState = \(activated.stepUpState), stepUpActivatedAt = \(activated.stepUpActivatedAt), stepUpTag = \(activated.stepUpTag),
                    updatedAt = \(activated.updatedAt)
                WHERE id = \(activated.id)
                """)
            let device = try activated.device(appKey: appKey)
            try await Self.insertOutbox(try OutboxRow.rows(effects(device), app: app, appKey: appKey), app: app, now: time, on: connection)
            return (device, true)
        }
    }

    public func devices(of user: UserID, in app: AppID) async throws -> [Device] {
        let appKey = try await appKey(app)
        return try await database.rows(
            "SELECT \(unescaped: DeviceRecord.postgresColumns) FROM device WHERE appID = \(app) AND userID = \(user) ORDER BY createdAt, id"
        ).map { try DeviceRecord(postgres: $0).device(appKey: appKey) }
    }

    public func device(_ id: DeviceID, of user: UserID, in app: AppID) async throws -> Device? {
        let appKey = try await appKey(app)
        return try await Self.deviceRecord(id, of: user, in: app, on: database, lock: false)?.device(appKey: appKey)
    }

    public func deleteDevice(_ id: DeviceID, of user: UserID, in app: AppID, effects: [OutboxEntry]) async throws -> Bool {
        let rows = try await sealedOutboxRows(effects, app: app)
        let time = nowMilliseconds()
        return try await database.transaction { connection in
            let deleted = try await connection.rows(
                "DELETE FROM device WHERE id = \(id) AND appID = \(app) AND userID = \(user) RETURNING 1")
            guard !deleted.isEmpty else { return false }
            try await Self.insertOutbox(rows, app: app, now: time, on: connection)
            return true
        }
    }

    private static func deviceRecord(_ id: DeviceID, of user: UserID, in app: AppID, on runner: some PostgresQueryRunner, lock: Bool) async throws -> DeviceRecord? {
        try await runner.rows(
            """
            SELECT \(unescaped: DeviceRecord.postgresColumns) FROM device WHERE id = \(id) AND appID = \(app) AND userID = \(user)
            \(unescaped: lock ? "FOR UPDATE" : "")
            """
        ).first.map(DeviceRecord.init(postgres:))
    }
}
