import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func registerDevice(
        _ device: NewDevice, for user: UserID, in app: AppID, effects: @escaping @Sendable (Device) -> [OutboxEntry]
    ) async throws -> DeviceRegistration {
        let time = nowMilliseconds()
        let appKey = try appKey(app)
        return try await pool.write { [keys] db in
            let existing = try DeviceRecord.filter(
                DeviceRecord.Columns.appID == app.rawValue && DeviceRecord.Columns.platform == device.platform.rawValue
                    && DeviceRecord.Columns.token == device.token
            ).fetchOne(db)
            let decision = try DeviceRules.decide(device, id: .generate(), for: user, in: app, existing: existing, appKey: appKey, at: time)
            switch decision {
            case .update(let record, _):
                try record.update(db)
            case .insert(let record, let replacing):
                try replacing?.delete(db)
                try DeviceRules.checkRoom(
                    devicesOfUser: DeviceRecord.filter(DeviceRecord.Columns.appID == app.rawValue && DeviceRecord.Columns.userID == user.rawValue).fetchCount(db))
                try record.insert(db)
            }
            let outcome = try DeviceRules.outcome(of: decision, appKey: appKey, effects: effects)
            try Self.insert(outcome.effects, app: app, now: time, keys: keys, db: db)
            return outcome.registration
        }
    }

    public func activateStepUpKey(
        of id: DeviceID, of user: UserID, in app: AppID, effects: @escaping @Sendable (Device) -> [OutboxEntry]
    ) async throws -> (device: Device, changed: Bool) {
        let time = nowMilliseconds()
        let appKey = try appKey(app)
        return try await pool.write { [keys] db in
            guard let record = try Self.deviceRecord(id, of: user, in: app, db: db) else { throw HeraldError.notFound(resource: "device") }
            let activated = try DeviceRules.activated(record, at: time, appKey: appKey)
            guard activated != record else { return (try record.device(appKey: appKey), false) }
            try activated.update(db)
            let device = try activated.device(appKey: appKey)
            try Self.insert(effects(device), app: app, now: time, keys: keys, db: db)
            return (device, true)
        }
    }

    public func devices(of user: UserID, in app: AppID) async throws -> [Device] {
        let appKey = try appKey(app)
        return try await pool.read { db in
            try DeviceRecord.filter(DeviceRecord.Columns.appID == app.rawValue && DeviceRecord.Columns.userID == user.rawValue)
                .order(DeviceRecord.Columns.createdAt, DeviceRecord.Columns.id).fetchAll(db)
        }.map { try $0.device(appKey: appKey) }
    }

    public func device(_ id: DeviceID, of user: UserID, in app: AppID) async throws -> Device? {
        let appKey = try appKey(app)
        return try await pool.read { db in try Self.deviceRecord(id, of: user, in: app, db: db) }?.device(appKey: appKey)
    }

    public func deleteDevice(_ id: DeviceID, of user: UserID, in app: AppID, effects: [OutboxEntry]) async throws -> Bool {
        let time = nowMilliseconds()
        return try await pool.write { [keys] db in
            guard try Self.deviceRecord(id, of: user, in: app, db: db)?.delete(db) == true else { return false }
            try Self.insert(effects, app: app, now: time, keys: keys, db: db)
            return true
        }
    }

    private static func deviceRecord(_ id: DeviceID, of user: UserID, in app: AppID, db: Database) throws -> DeviceRecord? {
        try DeviceRecord.filter(
            DeviceRecord.Columns.id == id.rawValue && DeviceRecord.Columns.appID == app.rawValue && DeviceRecord.Columns.userID == user.rawValue
        ).fetchOne(db)
    }
}
