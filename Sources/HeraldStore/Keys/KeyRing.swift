import Crypto
public import Foundation
import GRDB
import Synchronization
public import HeraldCore

/// Whose data key seals a value: the app's own (what the business owns: its messages, notifications,
/// credentials, signing keys) or a user's (what is about that user: their messages, profile, inbox).
public enum KeyOwner: Hashable, Sendable {
    case app
    case user(UserID)

    var column: String {
        switch self {
        case .app: "app"
        case .user(let id): "user:" + id.rawValue
        }
    }
}

/// The key store of encryption at rest (envelope encryption), in a database file of its own
/// (`DIR/keys.sqlite`), apart from the content it protects.
///
/// The master key wraps one key-encryption key per app; that key wraps the app's data keys: one for the
/// app itself and one per user. Keys live here, never in the content database, so that destroying a
/// user's data key (erasure) makes their content unreadable in the live database and in every copy of it
/// taken before, at once. The file uses `secure_delete`, so a destroyed key is overwritten, not just
/// unlinked from the b-tree.
///
/// Unwrapped keys are cached, up to `cacheLimit` data keys. Creating keys goes through a group commit,
/// so many users created at once share one fsync.
public final class KeyRing: Sendable {
    private struct CacheKey: Hashable, Sendable {
        var app: AppID
        var owner: KeyOwner
    }

    public enum Failure: Error, CustomStringConvertible {
        case wrongMasterKey(String)
        case unreadableKey(String)

        public var description: String {
            switch self {
            case .wrongMasterKey(let path): "the master key does not open the key store \(path): use the key this data directory was created with"
            case .unreadableKey(let detail): "a key in the key store does not open: \(detail)"
            }
        }
    }

    private let queue: DatabaseQueue
    private let masterKey: MasterKey
    private let appKeys = BoundedCache<AppID, DataKey>(limit: 10_000)
    private let dataKeys: BoundedCache<CacheKey, DataKey>
    private let auditKeyCache = Mutex<DataKey?>(nil)
    private let creator: GroupCommitter<CacheKey, DataKey>
    /// Which of the candidate master keys opened the store (see `init`).
    public let masterKeyIndex: Int

    /// Opens (creating if needed) the key store at `path`.
    /// - Parameter masterKeys: candidates, tried in order; the first that matches the store's check value
    ///   is used (the second is a rotation's new key when that rotation stopped before it finished).
    ///   A new store takes the first.
    /// - Throws: `Failure.wrongMasterKey` when none matches.
    public init(path: String, masterKeys: [MasterKey], cacheLimit: Int = 100_000) throws {
        precondition(!masterKeys.isEmpty)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA secure_delete = ON")
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        try Self.migrator.migrate(queue)
        let index = try queue.write { db -> Int? in
            guard let stored = try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'masterCheck'") else {
                try db.execute(sql: "INSERT INTO meta (name, value) VALUES ('masterCheck', ?)", arguments: [KeyEnvelope.check(masterKeys[0])])
                return 0
            }
            return masterKeys.firstIndex { KeyEnvelope.check($0) == stored }
        }
        guard let index else { throw Failure.wrongMasterKey(path) }
        self.queue = queue
        self.masterKey = masterKeys[index]
        self.masterKeyIndex = index
        self.dataKeys = BoundedCache(limit: cacheLimit)
        let masterKey = masterKeys[index]
        self.creator = GroupCommitter(maxBatch: 1_000) { [queue] requests in
            try await queue.write { db in try requests.map { .success(try Self.createKey($0, masterKey: masterKey, db: db)) } }
        }
    }

    /// The app's or user's data key; nil when there is none (never created, or destroyed by erasure).
    public func key(_ owner: KeyOwner, in app: AppID) throws -> DataKey? {
        let cacheKey = CacheKey(app: app, owner: owner)
        if let cached = dataKeys[cacheKey] { return cached }
        let found = try queue.read { db -> DataKey? in
            guard let wrapped = try Data.fetchOne(
                db, sql: "SELECT wrapped FROM dataKey WHERE appID = ? AND owner = ?", arguments: [app.rawValue, owner.column])
            else { return nil }
            return try KeyEnvelope.unwrap(wrapped, owner: owner, app: app, wrappingKey: try Self.appKey(app, masterKey: masterKey, cache: appKeys, db: db))
        }
        if let found { dataKeys.insert(found, for: cacheKey) }
        return found
    }

    /// Whether the key is in memory (so it existed when last read, and no erasure in this process has destroyed it since).
    public func hasCachedKey(_ owner: KeyOwner, in app: AppID) -> Bool {
        dataKeys[CacheKey(app: app, owner: owner)] != nil
    }

    /// The key, created (and committed to the key store) when there is none yet.
    public func existingOrNewKey(_ owner: KeyOwner, in app: AppID) async throws -> DataKey {
        if let existing = try key(owner, in: app) { return existing }
        let key = try await creator.submit(CacheKey(app: app, owner: owner))
        dataKeys.insert(key, for: CacheKey(app: app, owner: owner))
        return key
    }

    /// The key of the audit chains' HMAC (created on first use). Wrapped by the master key like an app key,
    /// so whoever can write the database but lacks the master key cannot recompute a chain.
    public func auditKey() throws -> DataKey {
        if let cached = auditKeyCache.withLock({ $0 }) { return cached }
        let masterKey = masterKey
        let key = try queue.write { db -> DataKey in
            if let wrapped = try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'auditKey'") {
                return try KeyEnvelope.unwrapAuditKey(wrapped, masterKey: masterKey)
            }
            let key = DataKey.generate()
            try db.execute(sql: "INSERT INTO meta (name, value) VALUES ('auditKey', ?)", arguments: [try KeyEnvelope.wrapAuditKey(key, masterKey: masterKey)])
            return key
        }
        auditKeyCache.withLock { $0 = key }
        return key
    }

    /// Creates the app's own data key if it is missing, synchronously (at start-up).
    public func ensureAppKey(_ app: AppID) throws {
        guard try key(.app, in: app) == nil else { return }
        let masterKey = masterKey
        let key = try queue.write { db in try Self.createKey(CacheKey(app: app, owner: .app), masterKey: masterKey, db: db) }
        dataKeys.insert(key, for: CacheKey(app: app, owner: .app))
    }

    /// The data keys of many users at once (one query per 500 missing from the cache); users without a
    /// key are absent from the answer.
    public func keys(of users: some Sequence<UserID>, in app: AppID) throws -> [UserID: DataKey] {
        var found: [UserID: DataKey] = [:]
        var missing: [UserID] = []
        for user in users {
            if let cached = dataKeys[CacheKey(app: app, owner: .user(user))] { found[user] = cached } else { missing.append(user) }
        }
        guard !missing.isEmpty else { return found }
        try queue.read { db in
            let wrappingKey = try Self.appKey(app, masterKey: masterKey, cache: appKeys, db: db)
            for start in stride(from: 0, to: missing.count, by: 500) {
                let chunk = missing[start..<min(start + 500, missing.count)]
                let byColumn = Dictionary(chunk.map { (KeyOwner.user($0).column, $0) }, uniquingKeysWith: { first, _ in first })
                let placeholders = Array(repeating: "?", count: byColumn.count).joined(separator: ",")
                let rows = try Row.fetchAll(
                    db, sql: "SELECT owner, wrapped FROM dataKey WHERE appID = ? AND owner IN (\(placeholders))",
                    arguments: StatementArguments([app.rawValue] + Array(byColumn.keys)))
                for row in rows {
                    guard let user = byColumn[try row.decode(String.self, forColumn: "owner")] else { continue }
                    let key = try KeyEnvelope.unwrap(try row.decode(forColumn: "wrapped"), owner: .user(user), app: app, wrappingKey: wrappingKey)
                    found[user] = key
                    dataKeys.insert(key, for: CacheKey(app: app, owner: .user(user)))
                }
            }
        }
        return found
    }

    /// Destroys the user's data key: everything sealed with it, in this database and in every copy, stops
    /// opening. The key store's journal is gone once this returns (its rollback journal is deleted at commit),
    /// and `secure_delete` zeroes the freed cells.
    public func destroyKey(of user: UserID, in app: AppID) async throws {
        try await queue.write { db in
            try db.execute(sql: "DELETE FROM dataKey WHERE appID = ? AND owner = ?", arguments: [app.rawValue, KeyOwner.user(user).column])
        }
        dataKeys.remove(CacheKey(app: app, owner: .user(user)))
    }

    /// Re-wraps every key under `newMaster`, with a fresh key-encryption key per app, in one transaction.
    /// No content is re-encrypted: the data keys themselves do not change. Afterwards only `newMaster`
    /// opens the store (the process must be restarted to use it).
    /// - Returns: how many app keys and data keys were re-wrapped.
    public func rewrap(to newMaster: MasterKey) async throws -> (apps: Int, dataKeys: Int) {
        let masterKey = masterKey
        let counts = try await queue.write { db -> (Int, Int) in
            var apps = 0
            var data = 0
            for row in try Row.fetchAll(db, sql: "SELECT appID, wrapped FROM appKey") {
                let app: AppID = try row.decode(forColumn: "appID")
                let oldKey = try KeyEnvelope.unwrapAppKey(try row.decode(forColumn: "wrapped"), app: app, masterKey: masterKey)
                let newKey = DataKey.generate()
                for dataRow in try Row.fetchAll(db, sql: "SELECT owner, wrapped FROM dataKey WHERE appID = ?", arguments: [app.rawValue]) {
                    let owner: String = try dataRow.decode(forColumn: "owner")
                    try db.execute(
                        sql: "UPDATE dataKey SET wrapped = ? WHERE appID = ? AND owner = ?",
                        arguments: [try KeyEnvelope.rewrap(try dataRow.decode(forColumn: "wrapped"), app: app, ownerColumn: owner, from: oldKey, to: newKey), app.rawValue, owner])
                    data += 1
                }
                try db.execute(
                    sql: "UPDATE appKey SET wrapped = ? WHERE appID = ?",
                    arguments: [try KeyEnvelope.wrapAppKey(newKey, app: app, masterKey: newMaster), app.rawValue])
                apps += 1
            }
            if let wrapped = try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'auditKey'") {
                let key = try KeyEnvelope.unwrapAuditKey(wrapped, masterKey: masterKey)
                try db.execute(sql: "UPDATE meta SET value = ? WHERE name = 'auditKey'", arguments: [try KeyEnvelope.wrapAuditKey(key, masterKey: newMaster)])
            }
            try db.execute(sql: "UPDATE meta SET value = ? WHERE name = 'masterCheck'", arguments: [KeyEnvelope.check(newMaster)])
            return (apps, data)
        }
        appKeys.removeAll()
        dataKeys.removeAll()
        auditKeyCache.withLock { $0 = nil }
        return (apps: counts.0, dataKeys: counts.1)
    }

    /// A consistent copy of the key store (SQLite backup API), for `herald backup --keys-out`.
    public func backup(to path: String) throws {
        try PrivateFile.createEmpty(at: path)
        let copy = try DatabaseQueue(path: path)
        try queue.backup(to: copy)
        try copy.close()
    }

    public func close() throws {
        try queue.close()
    }

    // MARK: - Rows

    private static func createKey(_ request: CacheKey, masterKey: MasterKey, db: Database) throws -> DataKey {
        let wrappingKey = try appKey(request.app, masterKey: masterKey, cache: nil, db: db, create: true)
        let column = request.owner.column
        if let wrapped = try Data.fetchOne(
            db, sql: "SELECT wrapped FROM dataKey WHERE appID = ? AND owner = ?", arguments: [request.app.rawValue, column])
        {
            return try KeyEnvelope.unwrap(wrapped, owner: request.owner, app: request.app, wrappingKey: wrappingKey)
        }
        let key = DataKey.generate()
        try db.execute(
            sql: "INSERT INTO dataKey (appID, owner, wrapped, createdAt) VALUES (?, ?, ?, ?)",
            arguments: [
                request.app.rawValue, column, try KeyEnvelope.wrap(key, owner: request.owner, app: request.app, wrappingKey: wrappingKey),
                WireTime.milliseconds(Date()),
            ])
        return key
    }

    private static func appKey(_ app: AppID, masterKey: MasterKey, cache: BoundedCache<AppID, DataKey>?, db: Database, create: Bool = false) throws -> DataKey {
        if let cached = cache?[app] { return cached }
        if let wrapped = try Data.fetchOne(db, sql: "SELECT wrapped FROM appKey WHERE appID = ?", arguments: [app.rawValue]) {
            let key = try KeyEnvelope.unwrapAppKey(wrapped, app: app, masterKey: masterKey)
            cache?.insert(key, for: app)
            return key
        }
        guard create else { throw Failure.unreadableKey("no key for app \(app)") }
        let key = DataKey.generate()
        try db.execute(
            sql: "INSERT INTO appKey (appID, wrapped, createdAt) VALUES (?, ?, ?)",
            arguments: [app.rawValue, try KeyEnvelope.wrapAppKey(key, app: app, masterKey: masterKey), WireTime.milliseconds(Date())])
        return key
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("create key tables") { db in
            try db.create(table: "meta") { t in
                t.primaryKey("name", .text)
                t.column("value", .blob).notNull()
            }
            try db.create(table: "appKey") { t in
                t.primaryKey("appID", .text)
                t.column("wrapped", .blob).notNull()
                t.column("createdAt", .integer).notNull()
            }
            try db.create(table: "dataKey") { t in
                t.column("appID", .text).notNull()
                t.column("owner", .text).notNull()
                t.column("wrapped", .blob).notNull()
                t.column("createdAt", .integer).notNull()
                t.primaryKey(["appID", "owner"])
            }
        }
        return migrator
    }
}
