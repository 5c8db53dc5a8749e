import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func putUser(_ id: UserID, profile: UserProfile, in app: AppID) async throws -> (user: User, created: Bool) {
        let time = nowMilliseconds()
        return try await pool.write { db in
            let existing = try UserRecord.fetchOne(db, key: ["appID": app.rawValue, "id": id.rawValue])
            let record = UserRecord(
                appID: app.rawValue, id: id.rawValue, name: profile.name, locale: profile.locale, timezone: profile.timezone,
                metadata: JSONColumn.encode(profile.metadata), preferences: existing?.preferences, createdAt: existing?.createdAt ?? time, updatedAt: time)
            try record.save(db)
            return (record.user, existing == nil)
        }
    }

    public func user(_ id: UserID, in app: AppID) async throws -> User? {
        try await pool.read { db in try UserRecord.fetchOne(db, key: ["appID": app.rawValue, "id": id.rawValue]) }?.user
    }
}

extension SQLiteStore {
    public func users(_ ids: [UserID], in app: AppID) async throws -> [User] {
        try await pool.read { db in
            var users: [User] = []
            for chunk in stride(from: 0, to: ids.count, by: 500).map({ ids[$0..<min($0 + 500, ids.count)] }) {
                users += try UserRecord.filter(UserRecord.Columns.appID == app.rawValue && chunk.map(\.rawValue).contains(UserRecord.Columns.id))
                    .fetchAll(db).map(\.user)
            }
            return users
        }
    }

    public func users(in segment: Segment, app: AppID) async throws -> [User] {
        var conditions = ["appID = ?"]
        var arguments: StatementArguments = [app.rawValue]
        for (key, value) in segment.metadata.sorted(by: { $0.key < $1.key }) {
            // The key is bound inside a quoted JSON path, so it cannot change the statement.
            conditions.append("json_extract(metadata, '$.\"' || ? || '\"') = ?")
            switch value {
            case .string(let text): arguments += [key, text]
            case .bool(let flag): arguments += [key, flag ? 1 : 0]
            case .number(let number): arguments += [key, number]
            default: return []
            }
        }
        let sql = "SELECT * FROM user WHERE " + conditions.joined(separator: " AND ")
        return try await pool.read { [arguments] db in
            // json_extract answers 1 for both true and the number 1: the exact check is done on the decoded metadata.
            try UserRecord.fetchAll(db, sql: sql, arguments: arguments).map(\.user).filter { segment.matches($0.metadata) }
        }
    }

    public func updatePreferences(
        of user: UserID, in app: AppID, _ update: @Sendable (UserPreferences) throws -> UserPreferences
    ) async throws -> UserPreferences {
        let time = nowMilliseconds()
        return try await pool.write { db in
            guard var record = try UserRecord.fetchOne(db, key: ["appID": app.rawValue, "id": user.rawValue]) else {
                throw HeraldError.notFound(resource: "user")
            }
            let current = record.user.preferences
            let updated = try update(current)
            record.preferences = String(decoding: try JSONEncoder().encode(updated), as: UTF8.self)
            try record.update(db)
            if updated.consents.marketing != current.consents.marketing {
                try db.execute(
                    sql: "INSERT INTO consentChange (appID, userID, consent, granted, at) VALUES (?, ?, 'marketing', ?, ?)",
                    arguments: [app.rawValue, user.rawValue, updated.consents.marketing, time])
            }
            return updated
        }
    }
}
