import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {
    public func registerDevice(_ device: NewDevice, for user: UserID, in app: AppID) async throws -> (device: Device, created: Bool) {
        let time = nowMilliseconds()
        let encoder = JSONEncoder()
        let subscription = try device.subscription.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let stepUpKey = try device.stepUpKey.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let id = DeviceID.generate().rawValue
        return try await database.transaction { connection in
            // Two advisory locks, always in this order: the token's (one registration of a token at a
            // time, whichever user and node) and the user's (so the per-user limit holds across nodes).
            try await connection.execute(
                """
                SELECT pg_advisory_xact_lock(hashtextextended(\("device|" + app.rawValue + "|" + device.platform.rawValue + "|" + device.token), 0)),
                    pg_advisory_xact_lock(hashtextextended(\("user|" + app.rawValue + "|" + user.rawValue), 0))
                """)
            if let row = try await connection.rows(
                """
                SELECT \(unescaped: DeviceRecord.postgresColumns) FROM device
                WHERE appID = \(app.rawValue) AND platform = \(device.platform.rawValue) AND token = \(device.token)
                """
            ).first {
                var existing = try DeviceRecord(postgres: row)
                if existing.userID == user.rawValue {
                    existing.subscription = subscription
                    existing.stepUpKey = stepUpKey ?? existing.stepUpKey
                    existing.updatedAt = time
                    try await connection.execute(
                        """
                        UPDATE device SET subscription = \(existing.subscription), stepUpKey = \(existing.stepUpKey), updatedAt = \(time)
                        WHERE id = \(existing.id)
                        """)
                    return (try existing.device(), false)
                }
                // The token now belongs to whoever registered it last; the previous owner loses it.
                try await connection.execute("DELETE FROM device WHERE id = \(existing.id)")
            }
            let count = try await connection.value("SELECT count(*) FROM device WHERE appID = \(app.rawValue) AND userID = \(user.rawValue)", as: Int.self) ?? 0
            guard count < Limits.devicesPerUser else {
                throw HeraldError.conflict(detail: "A user may register at most \(Limits.devicesPerUser) devices; remove one first.")
            }
            let record = DeviceRecord(
                id: id, appID: app.rawValue, userID: user.rawValue, platform: device.platform.rawValue, token: device.token,
                subscription: subscription, stepUpKey: stepUpKey, createdAt: time, updatedAt: time)
            try await connection.execute(
                """
                INSERT INTO device (id, appID, userID, platform, token, subscription, stepUpKey, createdAt, updatedAt)
                VALUES (\(record.id), \(record.appID), \(record.userID), \(record.platform), \(record.token), \(record.subscription),
                    \(record.stepUpKey), \(time), \(time))
                """)
            return (try record.device(), true)
        }
    }

    public func devices(of user: UserID, in app: AppID) async throws -> [Device] {
        try await database.rows(
            "SELECT \(unescaped: DeviceRecord.postgresColumns) FROM device WHERE appID = \(app.rawValue) AND userID = \(user.rawValue) ORDER BY createdAt, id"
        ).map { try DeviceRecord(postgres: $0).device() }
    }

    public func device(_ id: DeviceID, of user: UserID, in app: AppID) async throws -> Device? {
        try await database.rows(
            """
            SELECT \(unescaped: DeviceRecord.postgresColumns) FROM device WHERE id = \(id.rawValue) AND appID = \(app.rawValue) AND userID = \(user.rawValue)
            """
        ).first.map { try DeviceRecord(postgres: $0).device() }
    }

    public func deleteDevice(_ id: DeviceID, of user: UserID, in app: AppID) async throws -> Bool {
        !(try await database.rows(
            "DELETE FROM device WHERE id = \(id.rawValue) AND appID = \(app.rawValue) AND userID = \(user.rawValue) RETURNING 1"
        ).isEmpty)
    }
}
