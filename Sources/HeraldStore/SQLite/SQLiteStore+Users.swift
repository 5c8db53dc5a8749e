import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func putUser(_ id: UserID, profile: UserProfile, in app: AppID) async throws -> (user: User, created: Bool) {
        let time = nowMilliseconds()
        let key = try await keys.existingOrNewKey(.user(id), in: app)
        let appKey = try await keys.existingOrNewKey(.app, in: app)
        let sealed = try UserRecord.seal(profile, app: app, id: id, key: key)
        let keys = keys
        return try await pool.write { db in
            let existing = try UserRecord.fetchOne(db, key: ["appID": app.rawValue, "id": id.rawValue])
            let record = UserRecord(
                appID: app, id: id, sealed: sealed, locale: profile.locale, timezone: profile.timezone,
                preferences: existing?.preferences, createdAt: existing?.createdAt ?? time, updatedAt: time)
            try record.save(db)
            try UserTags.replace(for: id, app: app, metadata: profile.metadata, appKey: appKey, db: db)
            if existing == nil { try Self.setTokenEpoch(of: id, in: app, db: db) }
            let needles = JourneyRules.profileEventNeedles
            if try Bool.fetchOne(
                db, sql: JourneyRules.namesProfileEventsSQL(app: "?", needles: needles.map { _ in "?" }, sqlite: true),
                arguments: StatementArguments([app.rawValue] + needles)) == true
            {
                let previous = existing.map { (try? $0.user(key: key).metadata) ?? [:] }
                let (event, outbox) = try JourneyRules.profileEvent(id, metadata: profile.metadata, previous: previous, app: app, at: time, key: key)
                try event.insert(db)
                try Self.insert([outbox], app: app, now: time, keys: keys, db: db)
            }
            return (try record.user(keys: keys), existing == nil)
        }
    }

    public func tokenEpoch(of user: UserID, in app: AppID) async throws -> String? {
        if let cached = tokenEpochs.value(for: AppUser(app: app, user: user)) { return cached }
        let generation = tokenEpochs.generation()
        let epoch = try await pool.read { db in
            try String?.fetchOne(
                db.cachedStatement(
                    sql: "SELECT COALESCE(t.epoch, '') FROM user u LEFT JOIN userTokenEpoch t ON t.appID = u.appID AND t.userID = u.id WHERE u.appID = ? AND u.id = ?"),
                arguments: [app.rawValue, user.rawValue]) ?? nil
        }
        if let epoch { tokenEpochs.remember(epoch, for: AppUser(app: app, user: user), readIn: generation) }
        return epoch
    }

    public func cachedTokenEpoch(ofActive user: UserID, in app: AppID) -> String? {
        // The key first: an erasure destroys it before it deletes the epoch's row.
        guard keys.hasCachedKey(.user(user), in: app) else { return nil }
        return tokenEpochs.value(for: AppUser(app: app, user: user))
    }

    public func revokeTokens(of user: UserID, in app: AppID) async throws -> Bool {
        try await pool.write { db in
            guard try UserRecord.exists(db, key: ["appID": app.rawValue, "id": user.rawValue]) else { return false }
            try Self.setTokenEpoch(of: user, in: app, db: db)
            return true
        }
    }

    private static func setTokenEpoch(of user: UserID, in app: AppID, db: Database) throws {
        try db.execute(
            sql: "INSERT INTO userTokenEpoch (appID, userID, epoch) VALUES (?, ?, ?) ON CONFLICT (appID, userID) DO UPDATE SET epoch = excluded.epoch",
            arguments: [app.rawValue, user.rawValue, RandomToken.base32(byteCount: 10)])
    }

    public func user(_ id: UserID, in app: AppID) async throws -> User? {
        guard let record = try await pool.read({ db in try UserRecord.fetchOne(db, key: ["appID": app.rawValue, "id": id.rawValue]) }) else { return nil }
        do {
            return try record.user(keys: keys)
        } catch HeraldError.notFound {
            return nil
        }
    }
}

extension SQLiteStore {
    public func recipients(_ ids: [UserID], in app: AppID) async throws -> [Recipient] {
        try await pool.read { db in
            var recipients: [Recipient] = []
            for chunk in stride(from: 0, to: ids.count, by: 500).map({ ids[$0..<min($0 + 500, ids.count)] }) {
                recipients += try UserRecord.filter(UserRecord.Columns.appID == app.rawValue && chunk.map(\.rawValue).contains(UserRecord.Columns.id))
                    .fetchAll(db).map { try $0.recipient() }
            }
            return recipients
        }
    }

    /// With metadata, the first tag's index (`appID, tag, userID`) drives the walk in id order from
    /// `after`, and each further tag is one lookup: a page costs its own rows, not a pass over every
    /// member of the segment (the `IN` list this replaced was built again for each page of a fan-out).
    public func recipients(in segment: Segment, app: AppID, after: UserID?, limit: Int) async throws -> [Recipient] {
        guard let appKey = try keys.key(.app, in: app) else { return [] }
        var tags: [Data] = []
        for (key, value) in segment.metadata.sorted(by: { $0.key < $1.key }) {
            guard let tag = UserTags.tag(key: key, value: value, appKey: appKey) else { return [] }
            tags.append(tag)
        }
        let sql: String
        var arguments: StatementArguments = [app.rawValue]
        if let first = tags.first {
            var conditions = ["t0.appID = ?", "t0.tag = ?", "t0.userID > ?"]
            arguments += [first, after?.rawValue ?? ""]
            for (index, tag) in tags.dropFirst().enumerated() {
                conditions.append("EXISTS (SELECT 1 FROM userTag t\(index + 1) WHERE t\(index + 1).appID = t0.appID AND t\(index + 1).tag = ? AND t\(index + 1).userID = t0.userID)")
                arguments += [tag]
            }
            sql = """
                SELECT user.* FROM userTag t0 JOIN user ON user.appID = t0.appID AND user.id = t0.userID
                WHERE \(conditions.joined(separator: " AND ")) ORDER BY t0.userID LIMIT ?
                """
        } else {
            arguments += [after?.rawValue ?? ""]
            sql = "SELECT * FROM user WHERE appID = ? AND id > ? ORDER BY id LIMIT ?"
        }
        arguments += [limit]
        return try await pool.read { [arguments] db in
            try UserRecord.fetchAll(db, sql: sql, arguments: arguments).map { try $0.recipient() }
        }
    }

    public func updatePreferences(
        of user: UserID, in app: AppID, _ update: @Sendable (UserPreferences) throws -> UserPreferences
    ) async throws -> UserPreferences {
        let time = nowMilliseconds()
        let key = try keys.key(.user(user), in: app)
        let keys = keys
        return try await pool.write { db in
            guard var record = try UserRecord.fetchOne(db, key: ["appID": app.rawValue, "id": user.rawValue]) else {
                throw HeraldError.notFound(resource: "user")
            }
            let current = try record.decodedPreferences()
            let updated = try update(current)
            record.preferences = String(decoding: try JSONEncoder().encode(updated), as: UTF8.self)
            try record.update(db)
            if updated.consents.marketing != current.consents.marketing {
                try db.execute(
                    sql: "INSERT INTO consentChange (appID, userID, consent, granted, at) VALUES (?, ?, 'marketing', ?, ?)",
                    arguments: [app.rawValue, user.rawValue, updated.consents.marketing, time])
            }
            let needles = JourneyRules.preferencesEventNeedles
            if updated != current, let key,
                try Bool.fetchOne(
                    db, sql: JourneyRules.namesProfileEventsSQL(app: "?", needles: needles.map { _ in "?" }, sqlite: true),
                    arguments: StatementArguments([app.rawValue] + needles)) == true
            {
                let (event, outbox) = try JourneyRules.preferencesEvent(user, preferences: updated, previous: current, app: app, at: time, key: key)
                try event.insert(db)
                try Self.insert([outbox], app: app, now: time, keys: keys, db: db)
            }
            return updated
        }
    }
}
