import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {
    public func putTemplate(_ key: TemplateKey, _ definition: TemplateDefinition, in app: AppID) async throws -> Template {
        let text = String(decoding: try JSONEncoder().encode(definition), as: UTF8.self)
        let time = nowMilliseconds()
        return try await database.transaction { connection in
            // The next version is numbered under the app's lock, so two nodes cannot number the same one.
            try await Self.lockApp(app, on: connection)
            let latest = try await connection.value(
                "SELECT COALESCE(MAX(version), 0) FROM template WHERE appID = \(app) AND key = \(key)", as: Int.self) ?? 0
            let record = TemplateRecord(appID: app, key: key, version: latest + 1, definition: text, createdAt: time)
            try await connection.execute(
                """
                INSERT INTO template (appID, key, version, definition, createdAt)
                VALUES (\(record.appID), \(record.key), \(record.version), \(record.definition), \(record.createdAt))
                """)
            return try record.template()
        }
    }

    public func template(_ key: TemplateKey, version: Int?, in app: AppID) async throws -> Template? {
        try await Self.templateRecord(key, version: version, app: app, on: database)?.template()
    }

    public func templates(in app: AppID) async throws -> [Template] {
        try await database.rows(
            """
            SELECT DISTINCT ON (key COLLATE "C") \(unescaped: TemplateRecord.postgresColumns) FROM template WHERE appID = \(app)
            ORDER BY key COLLATE "C", version DESC
            """
        ).map { try TemplateRecord(postgres: $0).template() }
    }

    static func templateRecord(_ key: TemplateKey, version: Int?, app: AppID, on runner: some PostgresQueryRunner) async throws -> TemplateRecord? {
        let version = version.map(Int64.init)
        return try await runner.rows(
            """
            SELECT \(unescaped: TemplateRecord.postgresColumns) FROM template WHERE appID = \(app) AND key = \(key)
            AND (\(version)::bigint IS NULL OR version = \(version)) ORDER BY version DESC LIMIT 1
            """
        ).first.map(TemplateRecord.init(postgres:))
    }
}
