import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func registerDevice(_ device: NewDevice, for user: UserID, in app: AppID) async throws -> (device: Device, created: Bool) {
        let time = nowMilliseconds()
        let encoder = JSONEncoder()
        let subscription = try device.subscription.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let stepUpKey = try device.stepUpKey.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        return try await pool.write { db in
            let sameToken = DeviceRecord.filter(
                DeviceRecord.Columns.appID == app.rawValue && DeviceRecord.Columns.platform == device.platform.rawValue
                    && DeviceRecord.Columns.token == device.token)
            if var existing = try sameToken.fetchOne(db) {
                if existing.userID == user.rawValue {
                    existing.subscription = subscription
                    existing.stepUpKey = stepUpKey ?? existing.stepUpKey
                    existing.updatedAt = time
                    try existing.update(db)
                    return (try existing.device(), false)
                }
                // The token now belongs to whoever registered it last; the previous owner loses it.
                try existing.delete(db)
            }
            let count = try DeviceRecord.filter(DeviceRecord.Columns.appID == app.rawValue && DeviceRecord.Columns.userID == user.rawValue).fetchCount(db)
            guard count < Limits.devicesPerUser else {
                throw HeraldError.conflict(detail: "A user may register at most \(Limits.devicesPerUser) devices; remove one first.")
            }
            let record = DeviceRecord(
                id: DeviceID.generate().rawValue, appID: app.rawValue, userID: user.rawValue, platform: device.platform.rawValue, token: device.token,
                subscription: subscription, stepUpKey: stepUpKey, createdAt: time, updatedAt: time)
            try record.insert(db)
            return (try record.device(), true)
        }
    }

    public func devices(of user: UserID, in app: AppID) async throws -> [Device] {
        try await pool.read { db in
            try DeviceRecord.filter(DeviceRecord.Columns.appID == app.rawValue && DeviceRecord.Columns.userID == user.rawValue)
                .order(DeviceRecord.Columns.createdAt).fetchAll(db)
        }.map { try $0.device() }
    }

    public func device(_ id: DeviceID, of user: UserID, in app: AppID) async throws -> Device? {
        try await pool.read { db in
            try DeviceRecord.filter(
                DeviceRecord.Columns.id == id.rawValue && DeviceRecord.Columns.appID == app.rawValue && DeviceRecord.Columns.userID == user.rawValue
            ).fetchOne(db)
        }?.device()
    }

    public func deleteDevice(_ id: DeviceID, of user: UserID, in app: AppID) async throws -> Bool {
        try await pool.write { db in
            try DeviceRecord.filter(
                DeviceRecord.Columns.id == id.rawValue && DeviceRecord.Columns.appID == app.rawValue && DeviceRecord.Columns.userID == user.rawValue
            ).deleteAll(db) > 0
        }
    }
}
