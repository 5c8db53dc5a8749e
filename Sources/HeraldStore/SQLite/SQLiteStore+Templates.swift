import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func putTemplate(_ key: TemplateKey, _ definition: TemplateDefinition, in app: AppID) async throws -> Template {
        let text = String(decoding: try JSONEncoder().encode(definition), as: UTF8.self)
        let time = nowMilliseconds()
        return try await pool.write { db in
            let latest = try Int.fetchOne(
                db, sql: "SELECT MAX(version) FROM template WHERE appID = ? AND key = ?", arguments: [app.rawValue, key.rawValue]) ?? 0
            let record = TemplateRecord(appID: app, key: key, version: latest + 1, definition: text, createdAt: time)
            try record.insert(db)
            return try record.template()
        }
    }

    public func template(_ key: TemplateKey, version: Int?, in app: AppID) async throws -> Template? {
        try await pool.read { db in try Self.templateRecord(key, version: version, app: app, db: db) }?.template()
    }

    public func templates(in app: AppID) async throws -> [Template] {
        try await pool.read { db in
            try TemplateRecord.fetchAll(
                db,
                sql: """
                    SELECT t.* FROM template t
                    WHERE t.appID = ? AND t.version = (SELECT MAX(version) FROM template WHERE appID = t.appID AND key = t.key)
                    ORDER BY t.key
                    """, arguments: [app.rawValue])
        }.map { try $0.template() }
    }

    static func templateRecord(_ key: TemplateKey, version: Int?, app: AppID, db: Database) throws -> TemplateRecord? {
        var request = TemplateRecord.filter(TemplateRecord.Columns.appID == app.rawValue && TemplateRecord.Columns.key == key.rawValue)
        if let version { request = request.filter(TemplateRecord.Columns.version == version) }
        return try request.order(TemplateRecord.Columns.version.desc).fetchOne(db)
    }
}
