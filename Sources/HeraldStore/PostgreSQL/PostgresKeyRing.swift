import Foundation
public import HeraldCore
import PostgresNIO
import Synchronization

/// The key store of a PostgreSQL deployment: the same envelope encryption as the embedded `KeyRing`
/// (`KeyEnvelope`), in a database of its own (by default the content database's name with `_keys`),
/// shared by every node of a cluster.
///
/// Keys live apart from the content so that a `pg_dump` of the content holds no key, and destroying a
/// user's data key (erasure) makes their content unreadable in every copy of the content database. A
/// dump of the key database taken before an erasure still holds the key: keep key backups short-lived
/// (docs/operations.md).
///
/// Concurrent first uses on several nodes are safe: a key is inserted with `ON CONFLICT DO NOTHING` and
/// read back, so every node ends up with the one that won.
public final class PostgresKeyRing: Sendable {
    private struct CacheKey: Hashable, Sendable {
        var app: AppID
        var owner: KeyOwner
    }

    let database: PostgresDatabase
    private let masterKey: MasterKey
    private let appKeys = BoundedCache<AppID, DataKey>(limit: 10_000)
    private let dataKeys: BoundedCache<CacheKey, DataKey>
    private let auditKeyCache = Mutex<DataKey?>(nil)
    /// Which of the candidate master keys opened the store.
    public let masterKeyIndex: Int

    /// Opens the key database at `url` (creating its tables if needed).
    /// - Parameter masterKeys: candidates, tried in order, as `KeyRing` takes them.
    /// - Throws: `KeyRing.Failure.wrongMasterKey` when none matches.
    public static func open(_ url: PostgresURL, masterKeys: [MasterKey], cacheLimit: Int = 100_000) async throws -> PostgresKeyRing {
        precondition(!masterKeys.isEmpty)
        let database = PostgresDatabase(url, maximumConnections: 4)
        do {
            try await PostgresMigrations.migrate(database, PostgresMigrations.keys)
            let first = KeyEnvelope.check(masterKeys[0])
            try await database.execute("INSERT INTO meta (name, value) VALUES ('masterCheck', \(first)) ON CONFLICT DO NOTHING")
            let stored = try await database.value("SELECT value FROM meta WHERE name = 'masterCheck'", as: Data.self)
            guard let index = masterKeys.firstIndex(where: { KeyEnvelope.check($0) == stored }) else {
                throw KeyRing.Failure.wrongMasterKey(url.description)
            }
            return PostgresKeyRing(database: database, masterKey: masterKeys[index], masterKeyIndex: index, cacheLimit: cacheLimit)
        } catch {
            await database.close()
            throw error
        }
    }

    private init(database: PostgresDatabase, masterKey: MasterKey, masterKeyIndex: Int, cacheLimit: Int) {
        self.database = database
        self.masterKey = masterKey
        self.masterKeyIndex = masterKeyIndex
        self.dataKeys = BoundedCache(limit: cacheLimit)
    }

    /// The app's or user's data key; nil when there is none (never created, or destroyed by erasure).
    public func key(_ owner: KeyOwner, in app: AppID) async throws -> DataKey? {
        let cacheKey = CacheKey(app: app, owner: owner)
        if let cached = dataKeys[cacheKey] { return cached }
        guard let wrapped = try await database.value(
            "SELECT wrapped FROM dataKey WHERE appID = \(app) AND owner = \(owner.column)", as: Data.self)
        else { return nil }
        let key = try KeyEnvelope.unwrap(wrapped, owner: owner, app: app, wrappingKey: try await appKey(app, create: false))
        dataKeys.insert(key, for: cacheKey)
        return key
    }

    /// The key, created when there is none yet.
    public func existingOrNewKey(_ owner: KeyOwner, in app: AppID) async throws -> DataKey {
        if let existing = try await key(owner, in: app) { return existing }
        let wrappingKey = try await appKey(app, create: true)
        let fresh = DataKey.generate()
        let wrapped = try KeyEnvelope.wrap(fresh, owner: owner, app: app, wrappingKey: wrappingKey)
        // Two statements: the read must see a key that another node committed while the insert waited on it.
        try await database.execute(
            """
            INSERT INTO dataKey (appID, owner, wrapped, createdAt) VALUES (\(app), \(owner.column), \(wrapped), \(Self.nowMilliseconds()))
            ON CONFLICT DO NOTHING
            """)
        let stored = try await database.value("SELECT wrapped FROM dataKey WHERE appID = \(app) AND owner = \(owner.column)", as: Data.self)
        guard let stored else { throw KeyRing.Failure.unreadableKey("\(owner.column) of app \(app) vanished while it was created") }
        let key = try KeyEnvelope.unwrap(stored, owner: owner, app: app, wrappingKey: wrappingKey)
        dataKeys.insert(key, for: CacheKey(app: app, owner: owner))
        return key
    }

    /// The data keys of many users at once; users without a key are absent from the answer.
    public func keys(of users: some Sequence<UserID>, in app: AppID) async throws -> [UserID: DataKey] {
        var found: [UserID: DataKey] = [:]
        var missing: [String: UserID] = [:]
        for user in users {
            if let cached = dataKeys[CacheKey(app: app, owner: .user(user))] { found[user] = cached } else { missing[KeyOwner.user(user).column] = user }
        }
        guard !missing.isEmpty else { return found }
        let wrappingKey = try await appKey(app, create: false)
        let rows = try await database.rows("SELECT owner, wrapped FROM dataKey WHERE appID = \(app) AND owner = ANY(\(Array(missing.keys)))")
        for row in rows {
            let (owner, wrapped) = try row.decode((String, Data).self)
            guard let user = missing[owner] else { continue }
            let key = try KeyEnvelope.unwrap(wrapped, owner: .user(user), app: app, wrappingKey: wrappingKey)
            found[user] = key
            dataKeys.insert(key, for: CacheKey(app: app, owner: .user(user)))
        }
        return found
    }

    /// The key of the audit chains' HMAC (created on first use), wrapped by the master key.
    public func auditKey() async throws -> DataKey {
        if let cached = auditKeyCache.withLock({ $0 }) { return cached }
        let fresh = try KeyEnvelope.wrapAuditKey(DataKey.generate(), masterKey: masterKey)
        try await database.execute("INSERT INTO meta (name, value) VALUES ('auditKey', \(fresh)) ON CONFLICT DO NOTHING")
        guard let wrapped = try await database.value("SELECT value FROM meta WHERE name = 'auditKey'", as: Data.self) else {
            throw KeyRing.Failure.unreadableKey("audit key")
        }
        let key = try KeyEnvelope.unwrapAuditKey(wrapped, masterKey: masterKey)
        auditKeyCache.withLock { $0 = key }
        return key
    }

    /// Destroys the user's data key. Other nodes forget their cached copy when the erasure reaches them
    /// on the cluster's feed (`forget`); meanwhile they refuse the erased user's tokens anyway (a token
    /// check reads the user from the content database).
    public func destroyKey(of user: UserID, in app: AppID) async throws {
        try await database.execute("DELETE FROM dataKey WHERE appID = \(app) AND owner = \(KeyOwner.user(user).column)")
        forget(user, in: app)
    }

    /// Drops the user's key from this node's cache: it was destroyed through another node.
    public func forget(_ user: UserID, in app: AppID) {
        dataKeys.remove(CacheKey(app: app, owner: .user(user)))
    }

    /// Drops every cached data key: the node lost the cluster's feed and may have missed erasures.
    public func forgetAll() {
        dataKeys.removeAll()
    }

    /// Re-wraps every key under `newMaster`, with a fresh key-encryption key per app, in one transaction
    /// (as `KeyRing.rewrap`). Afterwards only `newMaster` opens the key database: every node must be
    /// restarted with it (a running node keeps the old key and cannot open keys it has not cached).
    /// - Returns: how many app keys and data keys were re-wrapped.
    public func rewrap(to newMaster: MasterKey) async throws -> (apps: Int, dataKeys: Int) {
        let masterKey = masterKey
        let counts = try await database.transaction { connection -> (Int, Int) in
            var apps = 0
            var data = 0
            for row in try await connection.rows("SELECT appID, wrapped FROM appKey ORDER BY appID FOR UPDATE") {
                // An app id that does not decode stops the rotation (as on SQLite): skipping it and then
                // moving the master check would leave that app's keys under a master no node holds.
                let (app, wrapped) = try row.decode((AppID, Data).self)
                let oldKey = try KeyEnvelope.unwrapAppKey(wrapped, app: app, masterKey: masterKey)
                let newKey = DataKey.generate()
                for dataRow in try await connection.rows("SELECT owner, wrapped FROM dataKey WHERE appID = \(app) ORDER BY owner FOR UPDATE") {
                    let (owner, wrappedData) = try dataRow.decode((String, Data).self)
                    let rewrapped = try KeyEnvelope.rewrap(wrappedData, app: app, ownerColumn: owner, from: oldKey, to: newKey)
                    try await connection.execute("UPDATE dataKey SET wrapped = \(rewrapped) WHERE appID = \(app) AND owner = \(owner)")
                    data += 1
                }
                try await connection.execute("UPDATE appKey SET wrapped = \(try KeyEnvelope.wrapAppKey(newKey, app: app, masterKey: newMaster)) WHERE appID = \(app)")
                apps += 1
            }
            if let wrapped = try await connection.value("SELECT value FROM meta WHERE name = 'auditKey'", as: Data.self) {
                let key = try KeyEnvelope.unwrapAuditKey(wrapped, masterKey: masterKey)
                try await connection.execute("UPDATE meta SET value = \(try KeyEnvelope.wrapAuditKey(key, masterKey: newMaster)) WHERE name = 'auditKey'")
            }
            try await connection.execute("UPDATE meta SET value = \(KeyEnvelope.check(newMaster)) WHERE name = 'masterCheck'")
            return (apps, data)
        }
        appKeys.removeAll()
        dataKeys.removeAll()
        auditKeyCache.withLock { $0 = nil }
        return (apps: counts.0, dataKeys: counts.1)
    }

    public func close() async {
        await database.close()
    }

    private func appKey(_ app: AppID, create: Bool) async throws -> DataKey {
        if let cached = appKeys[app] { return cached }
        if create {
            let wrapped = try KeyEnvelope.wrapAppKey(DataKey.generate(), app: app, masterKey: masterKey)
            try await database.execute(
                "INSERT INTO appKey (appID, wrapped, createdAt) VALUES (\(app), \(wrapped), \(Self.nowMilliseconds())) ON CONFLICT DO NOTHING")
        }
        guard let wrapped = try await database.value("SELECT wrapped FROM appKey WHERE appID = \(app)", as: Data.self) else {
            throw KeyRing.Failure.unreadableKey("no key for app \(app)")
        }
        let key = try KeyEnvelope.unwrapAppKey(wrapped, app: app, masterKey: masterKey)
        appKeys.insert(key, for: app)
        return key
    }

    private static func nowMilliseconds() -> Int64 { WireTime.milliseconds(Date()) }
}
