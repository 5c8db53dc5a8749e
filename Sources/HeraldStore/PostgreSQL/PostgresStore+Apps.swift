import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {
    public func createApp(name: String) async throws -> (app: App, apiKey: APIKey) {
        try App.validateName(name)
        let key = APIKey.generate()
        let record = AppRecord(id: AppID.generate(), name: name, apiKeyID: key.keyID, apiKeyHash: key.secretHash, createdAt: nowMilliseconds())
        try await database.execute(
            """
            INSERT INTO app (id, name, apiKeyID, apiKeyHash, createdAt)
            VALUES (\(record.id), \(record.name), \(record.apiKeyID), \(record.apiKeyHash), \(record.createdAt))
            """)
        _ = try await keys.existingOrNewKey(.app, in: record.id)
        return (try record.app(), key)
    }

    public func apps() async throws -> [App] {
        try await database.rows("SELECT \(unescaped: AppRecord.postgresColumns) FROM app ORDER BY createdAt, position").map { try AppRecord(postgres: $0).app() }
    }

    public func app(_ id: AppID) async throws -> App? {
        try await database.rows("SELECT \(unescaped: AppRecord.postgresColumns) FROM app WHERE id = \(id)").first.map { try AppRecord(postgres: $0).app() }
    }

    public func rotateAPIKey(of app: AppID) async throws -> APIKey {
        let key = APIKey.generate()
        let updated = try await database.values(
            "UPDATE app SET apiKeyID = \(key.keyID), apiKeyHash = \(key.secretHash) WHERE id = \(app) RETURNING 1", as: Int.self)
        guard updated.count == 1 else { throw HeraldError.notFound(resource: "app") }
        return key
    }

    public func authenticate(_ key: APIKey) async throws -> AppID? {
        guard let row = try await database.rows("SELECT id, apiKeyHash FROM app WHERE apiKeyID = \(key.keyID)").first else { return nil }
        let (id, hash) = try row.decode((String, Data).self)
        guard key.matches(hash: hash) else { return nil }
        return AppID(rawValue: id)
    }

    public func app(withKeyID keyID: String) async throws -> AppID? {
        try await database.value("SELECT id FROM app WHERE apiKeyID = \(keyID)", as: AppID.self)
    }

    public func currentTokenKey(of app: AppID) async throws -> TokenSigningKey {
        if let current = try await latestTokenKey(of: app) { return try await unseal(current) }
        let appKey = try await appKey(app)
        // One key per app even when nodes race: the first insert holds the app's row lock until it commits.
        return try await database.transaction { connection in
            guard try await connection.value("SELECT id FROM app WHERE id = \(app) FOR UPDATE", as: String.self) != nil else {
                throw HeraldError.notFound(resource: "app")
            }
            if let existing = try await Self.latestTokenKey(of: app, on: connection) { return try existing.unsealed(appKey: appKey) }
            return try await Self.insert(TokenKeyRecord.new(for: app, appKey: appKey, at: self.nowMilliseconds(), after: nil), appKey: appKey, on: connection)
        }
    }

    public func rotateTokenKey(of app: AppID) async throws -> TokenSigningKey {
        let appKey = try await appKey(app)
        let createdAt = nowMilliseconds()
        let cutoff = TokenKeyRecord.rotationCutoff(now: createdAt)
        return try await database.transaction { connection in
            guard try await connection.value("SELECT id FROM app WHERE id = \(app) FOR UPDATE", as: String.self) != nil else {
                throw HeraldError.notFound(resource: "app")
            }
            // The newest key created before the cutoff may have signed tokens that are still valid; older ones cannot have.
            try await connection.execute(
                """
                DELETE FROM tokenKey WHERE appID = \(app)
                    AND createdAt < (SELECT max(createdAt) FROM tokenKey WHERE appID = \(app) AND createdAt <= \(cutoff))
                """)
            let latest = try await connection.value("SELECT max(createdAt) FROM tokenKey WHERE appID = \(app)", as: Int64?.self) ?? nil
            return try await Self.insert(TokenKeyRecord.new(for: app, appKey: appKey, at: createdAt, after: latest), appKey: appKey, on: connection)
        }
    }

    private static func insert(_ record: TokenKeyRecord, appKey: DataKey, on connection: PostgresConnection) async throws -> TokenSigningKey {
        try await connection.execute(
            "INSERT INTO tokenKey (kid, appID, sealedSecret, createdAt) VALUES (\(record.kid), \(record.appID), \(record.sealedSecret), \(record.createdAt))")
        return try record.unsealed(appKey: appKey)
    }

    public func tokenKey(kid: String) async throws -> TokenSigningKey? {
        guard let row = try await database.rows("SELECT \(unescaped: TokenKeyRecord.postgresColumns) FROM tokenKey WHERE kid = \(kid)").first else { return nil }
        return try await unseal(TokenKeyRecord(postgres: row))
    }

    private func latestTokenKey(of app: AppID) async throws -> TokenKeyRecord? {
        try await Self.latestTokenKey(of: app, on: database)
    }

    private static func latestTokenKey(of app: AppID, on runner: some PostgresQueryRunner) async throws -> TokenKeyRecord? {
        try await runner.rows(
            "SELECT \(unescaped: TokenKeyRecord.postgresColumns) FROM tokenKey WHERE appID = \(app) ORDER BY createdAt DESC, kid LIMIT 1"
        ).first.map(TokenKeyRecord.init(postgres:))
    }

    private func unseal(_ record: TokenKeyRecord) async throws -> TokenSigningKey {
        try record.unsealed(appKey: try await appKey(record.appID))
    }
}
