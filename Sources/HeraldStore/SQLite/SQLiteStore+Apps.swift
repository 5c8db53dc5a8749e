import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func createApp(name: String) async throws -> (app: App, apiKey: APIKey) {
        try App.validateName(name)
        let key = APIKey.generate()
        let record = AppRecord(id: AppID.generate(), name: name, apiKeyID: key.keyID, apiKeyHash: key.secretHash, createdAt: nowMilliseconds())
        try await pool.write { db in try record.insert(db) }
        _ = try await keys.existingOrNewKey(.app, in: record.id)
        return (try record.app(), key)
    }

    public func apps() async throws -> [App] {
        try await pool.read { db in try AppRecord.order(AppRecord.Columns.createdAt, Column.rowID).fetchAll(db) }.map { try $0.app() }
    }

    public func app(_ id: AppID) async throws -> App? {
        try await pool.read { db in try AppRecord.fetchOne(db, key: id.rawValue) }?.app()
    }

    public func rotateAPIKey(of app: AppID) async throws -> APIKey {
        let key = APIKey.generate()
        let updated = try await pool.write { db in
            try AppRecord.filter(key: app.rawValue).updateAll(
                db, Column("apiKeyID").set(to: key.keyID), Column("apiKeyHash").set(to: key.secretHash))
        }
        guard updated == 1 else { throw HeraldError.notFound(resource: "app") }
        return key
    }

    public func authenticate(_ key: APIKey) async throws -> AppID? {
        // Every Platform API request asks this: a statement prepared once per connection.
        let record = try await pool.read { db in
            try AppRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM app WHERE apiKeyID = ?"), arguments: [key.keyID])
        }
        guard let record, key.matches(hash: record.apiKeyHash) else { return nil }
        return record.id
    }

    public func app(withKeyID keyID: String) async throws -> AppID? {
        try await pool.read { db in try AppID.fetchOne(db, sql: "SELECT id FROM app WHERE apiKeyID = ?", arguments: [keyID]) }
    }

    public func currentTokenKey(of app: AppID) async throws -> TokenSigningKey {
        let appKey = try appKey(app)
        let createdAt = nowMilliseconds()
        // Read first: every token issued asks for the key, and only the first one writes.
        let current = try await pool.read { db in
            try TokenKeyRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM tokenKey WHERE appID = ? ORDER BY createdAt DESC, kid LIMIT 1"), arguments: [app.rawValue])
        }
        if let current { return try unseal(current) }
        let record = try await pool.write { db -> TokenKeyRecord in
            if let existing = try TokenKeyRecord.filter(TokenKeyRecord.Columns.appID == app.rawValue)
                .order(TokenKeyRecord.Columns.createdAt.desc, Column("kid")).fetchOne(db)
            {
                return existing
            }
            guard try AppRecord.exists(db, key: app.rawValue) else { throw HeraldError.notFound(resource: "app") }
            let record = try TokenKeyRecord.new(for: app, appKey: appKey, at: createdAt, after: nil)
            try record.insert(db)
            return record
        }
        return try unseal(record)
    }

    public func rotateTokenKey(of app: AppID) async throws -> TokenSigningKey {
        let appKey = try appKey(app)
        let createdAt = nowMilliseconds()
        let cutoff = TokenKeyRecord.rotationCutoff(now: createdAt)
        let record = try await pool.write { db -> TokenKeyRecord in
            guard try AppRecord.exists(db, key: app.rawValue) else { throw HeraldError.notFound(resource: "app") }
            // The newest key created before the cutoff may have signed tokens that are still valid; older ones cannot have.
            try db.execute(
                sql: """
                    DELETE FROM tokenKey WHERE appID = ? AND createdAt < (SELECT max(createdAt) FROM tokenKey WHERE appID = ? AND createdAt <= ?)
                    """, arguments: [app.rawValue, app.rawValue, cutoff])
            let latest = try Int64.fetchOne(db, sql: "SELECT max(createdAt) FROM tokenKey WHERE appID = ?", arguments: [app.rawValue])
            let record = try TokenKeyRecord.new(for: app, appKey: appKey, at: createdAt, after: latest)
            try record.insert(db)
            return record
        }
        return try unseal(record)
    }

    public func tokenKey(kid: String) async throws -> TokenSigningKey? {
        guard let record = try await pool.read({ db in try TokenKeyRecord.fetchOne(db, key: kid) }) else { return nil }
        return try unseal(record)
    }

    private func unseal(_ record: TokenKeyRecord) throws -> TokenSigningKey {
        try record.unsealed(appKey: appKey(record.appID))
    }
}
