import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {
    public func signingKeys(of app: AppID) async throws -> [SigningKey] {
        let existing = try await Self.signingKeyRecords(of: app, on: database)
        if !existing.isEmpty { return try await unseal(existing, app: app) }
        let appKey = try await appKey(app)
        let key = SigningKey.generate(createdAt: now())
        let created = try await database.transaction { connection in
            // Under the app row's lock: two first calls at once (on two nodes) must not create two keys.
            try await Self.lockApp(app, on: connection)
            let again = try await Self.signingKeyRecords(of: app, on: connection)
            if !again.isEmpty { return again }
            return [try await Self.insertSigningKey(key, for: app, appKey: appKey, on: connection)]
        }
        return try await unseal(created, app: app)
    }

    public func rotateSigningKey(of app: AppID) async throws -> SigningKey {
        let appKey = try await appKey(app)
        let key = SigningKey.generate(createdAt: now())
        let record = try await database.transaction { connection in
            try await Self.lockApp(app, on: connection)
            return try await Self.insertSigningKey(key, for: app, appKey: appKey, on: connection)
        }
        return try await unseal([record], app: app)[0]
    }

    private static func signingKeyRecords(of app: AppID, on runner: some PostgresQueryRunner) async throws -> [SigningKeyRecord] {
        try await runner.rows(
            "SELECT kid, appID, sealedPrivateKey, createdAt FROM signingKey WHERE appID = \(app) ORDER BY createdAt DESC, position DESC"
        ).map { row in
            let (kid, appID, sealed, createdAt) = try row.decode((String, AppID, Data, Int64).self)
            return SigningKeyRecord(kid: kid, appID: appID, sealedPrivateKey: sealed, createdAt: createdAt)
        }
    }

    private static func insertSigningKey(_ key: SigningKey, for app: AppID, appKey: DataKey, on connection: PostgresConnection) async throws -> SigningKeyRecord {
        let record = try SigningKeyRecord.new(key, for: app, appKey: appKey)
        try await connection.execute(
            "INSERT INTO signingKey (kid, appID, sealedPrivateKey, createdAt) VALUES (\(record.kid), \(record.appID), \(record.sealedPrivateKey), \(record.createdAt))")
        return record
    }

    private func unseal(_ records: [SigningKeyRecord], app: AppID) async throws -> [SigningKey] {
        let appKey = try await appKey(app)
        return try records.map { try $0.unsealed(appKey: appKey) }
    }

    /// Locks the app's row for the rest of the transaction: what is per app and numbered or unique
    /// (signing keys, template versions, settings) is changed by one node at a time.
    /// - Throws: `HeraldError.notFound` when there is no such app.
    static func lockApp(_ app: AppID, on connection: PostgresConnection) async throws {
        guard try await connection.value("SELECT id FROM app WHERE id = \(app) FOR UPDATE", as: String.self) != nil else {
            throw HeraldError.notFound(resource: "app")
        }
    }

    public func settings(of app: AppID) async throws -> AppSettings {
        try await Self.settings(of: app, on: database)
    }

    public func updateSettings(of app: AppID, _ update: @Sendable (AppSettings) throws -> AppSettings) async throws -> AppSettings {
        let time = nowMilliseconds()
        return try await database.transaction { connection in
            try await Self.lockApp(app, on: connection)
            let updated = try update(try await Self.settings(of: app, on: connection))
            try await connection.execute(
                """
                INSERT INTO appSettings (appID, settings, updatedAt) VALUES (\(app), \(try updated.stored), \(time))
                ON CONFLICT (appID) DO UPDATE SET settings = excluded.settings, updatedAt = excluded.updatedAt
                """)
            return updated
        }
    }

    static func settings(of app: AppID, on runner: some PostgresQueryRunner) async throws -> AppSettings {
        try AppSettings(stored: try await runner.value("SELECT settings FROM appSettings WHERE appID = \(app)", as: String.self))
    }
}
