import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func signingKeys(of app: AppID) async throws -> [SigningKey] {
        let existing = try await pool.read { db in try Self.signingKeyRecords(of: app, db: db) }
        if !existing.isEmpty { return try existing.map(unseal) }
        let created = try await pool.write { [self] db in
            // Checked again inside the write: two first calls at once must not create two keys.
            let again = try Self.signingKeyRecords(of: app, db: db)
            if !again.isEmpty { return again }
            return [try insertSigningKey(for: app, db: db)]
        }
        return try created.map(unseal)
    }

    public func rotateSigningKey(of app: AppID) async throws -> SigningKey {
        try unseal(try await pool.write { [self] db in try insertSigningKey(for: app, db: db) })
    }

    private static func signingKeyRecords(of app: AppID, db: Database) throws -> [SigningKeyRecord] {
        try SigningKeyRecord.filter(SigningKeyRecord.Columns.appID == app.rawValue)
            .order(SigningKeyRecord.Columns.createdAt.desc, Column.rowID.desc).fetchAll(db)
    }

    private func insertSigningKey(for app: AppID, db: Database) throws -> SigningKeyRecord {
        guard try AppRecord.exists(db, key: app.rawValue) else { throw HeraldError.notFound(resource: "app") }
        let record = try SigningKeyRecord.new(SigningKey.generate(createdAt: now()), for: app, appKey: try appKey(app))
        try record.insert(db)
        return record
    }

    private func unseal(_ record: SigningKeyRecord) throws -> SigningKey {
        try record.unsealed(appKey: try appKey(record.appID))
    }

    public func settings(of app: AppID) async throws -> AppSettings {
        try await pool.read { db in try Self.settings(of: app, db: db) }
    }

    public func updateSettings(of app: AppID, _ update: @Sendable (AppSettings) throws -> AppSettings) async throws -> AppSettings {
        let time = nowMilliseconds()
        return try await pool.write { db in
            guard try AppRecord.exists(db, key: app.rawValue) else { throw HeraldError.notFound(resource: "app") }
            let updated = try update(try Self.settings(of: app, db: db))
            try AppSettingsRecord(appID: app, settings: try updated.stored, updatedAt: time).save(db)
            return updated
        }
    }

    static func settings(of app: AppID, db: Database) throws -> AppSettings {
        try AppSettings(stored: try AppSettingsRecord.fetchOne(db, key: app.rawValue)?.settings)
    }
}
