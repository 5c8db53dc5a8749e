public import Foundation
public import HeraldCore
import PostgresNIO

/// The PostgreSQL store: the same `Store` as the embedded SQLite one, for several stateless nodes on one
/// database (`herald serve --database URL`).
///
/// Message writes go through a `GroupCommitter` here too: a node's concurrent sends share one transaction.
/// Correctness across nodes rests on the database, never on this process's memory: a channel's `seq` is
/// taken under the channel row's lock (gap-free and strictly increasing whichever node writes), and
/// idempotency keys and direct channels are unique constraints.
///
/// The data keys live in a second database (`PostgresKeyRing`).
public final class PostgresStore: Store {
    let database: PostgresDatabase
    public let keys: PostgresKeyRing
    let now: @Sendable () -> Date
    let observer: CommitObserver
    let writer: GroupCommitter<MessageWrite, AppendResult>
    let auditWriter: GroupCommitter<AuditWrite, Void>
    /// This process among the nodes of the cluster (random per start): its own announcements are not
    /// handed back to it.
    public let nodeID: String
    let localCommits = LocalCommits()
    /// Shared notification content opened so far (`SharedContentCache`).
    let sharedContent = SharedContentCache()

    /// Connects to the content database at `url` and the key database at `keysURL` (by default the
    /// content database's name with `_keys`, on the same server), running pending migrations on both.
    /// - Parameters:
    ///   - maximumConnections: the size of this node's connection pool to the content database.
    ///   - now: the clock; times are truncated to milliseconds so they round-trip exactly.
    ///   - observer: told of every message change this node commits, in commit order. What other nodes
    ///     commit comes through `listen`.
    public static func open(
        url: PostgresURL,
        keysURL: PostgresURL? = nil,
        masterKeys: [MasterKey],
        maximumConnections: Int = 20,
        commitMeter: CommitMeter? = nil,
        now: @escaping @Sendable () -> Date = { Date() },
        observer: @escaping CommitObserver = { _ in }
    ) async throws -> PostgresStore {
        let keysURL = keysURL ?? url.with(database: url.database + "_keys")
        // One direct connection to each database first: what is wrong is said at once, not after the
        // pool's minute of retries (see `PostgresProbe`).
        try await PostgresProbe.check(url, role: "the content database")
        if keysURL == url.with(database: url.database + "_keys") {
            // The default key database is made on first start when the user may create databases;
            // otherwise the check below says what is missing.
            try? await PostgresAdmin.createDatabases(for: url, via: url)
        }
        try await PostgresProbe.check(
            keysURL, role: "the key database",
            fixForMissing: "create it (CREATE DATABASE \(keysURL.database) OWNER \(keysURL.username);) or name another with --keys-database")
        let keys = try await PostgresKeyRing.open(keysURL, masterKeys: masterKeys)
        let database = PostgresDatabase(url, maximumConnections: maximumConnections)
        do {
            try await PostgresMigrations.migrate(database)
            try await upgradeClearContent(database: database, keys: keys)
            return PostgresStore(
                database: database, keys: keys, nodeID: RandomToken.base32(byteCount: 10), commitMeter: commitMeter, now: now, observer: observer)
        } catch {
            await database.close()
            await keys.close()
            throw error
        }
    }

    private init(
        database: PostgresDatabase, keys: PostgresKeyRing, nodeID: String, commitMeter: CommitMeter?, now: @escaping @Sendable () -> Date,
        observer: @escaping CommitObserver
    ) {
        self.database = database
        self.keys = keys
        self.nodeID = nodeID
        self.now = { WireTime.truncated(now()) }
        self.observer = observer
        self.writer = GroupCommitter(meter: commitMeter) { [database, keys, observer, localCommits] batch in
            try await PostgresStore.commit(batch, database: database, keys: keys, node: nodeID, local: localCommits, observer: observer)
        }
        self.auditWriter = GroupCommitter { [database, keys] batch in try await PostgresStore.commitAudit(batch, database: database, keys: keys) }
    }

    func nowMilliseconds() -> Int64 { WireTime.milliseconds(now()) }

    /// Seals what an earlier version kept in clear: replaces the requests that idempotency rows held by
    /// their keyed hashes, seals channel names and notification audiences; then rewrites the tables (`VACUUM FULL`) so no dead
    /// tuple keeps the old bytes. One node does it, under the migrations' lock, in one transaction.
    static func upgradeClearContent(database: PostgresDatabase, keys: PostgresKeyRing) async throws {
        let hasLegacyKeys = try await database.value("SELECT to_regclass('idempotencykeylegacy') IS NOT NULL", as: Bool.self) == true
        let hasClearNames = try await database.value("SELECT EXISTS (SELECT 1 FROM channel WHERE name IS NOT NULL)", as: Bool.self) == true
        let hasClearAudiences = try await database.value(
            "SELECT EXISTS (SELECT 1 FROM notification WHERE audience <> \(NotificationRecord.sealedAudience))", as: Bool.self) == true
        guard hasLegacyKeys || hasClearNames || hasClearAudiences else { return }
        let upgraded = try await database.transaction { connection -> Bool in
            try await connection.execute("SELECT pg_advisory_xact_lock(\(PostgresMigrations.lockID))")
            for row in try await connection.rows("SELECT id, appID, name FROM channel WHERE name IS NOT NULL FOR UPDATE") {
                let (id, app, name) = try row.decode((ChannelID, AppID, String).self)
                guard let appKey = try await keys.key(.app, in: app) else { continue }
                let sealed = try appKey.seal(Data(name.utf8), context: SealingContext.channelName(id))
                try await connection.execute("UPDATE channel SET name = NULL, sealedName = \(sealed) WHERE id = \(id)")
            }
            for row in try await connection.rows(
                "SELECT \(unescaped: NotificationRecord.postgresColumns) FROM notification WHERE audience <> \(NotificationRecord.sealedAudience) FOR UPDATE")
            {
                let record = try NotificationRecord(postgres: row)
                guard let appKey = try await keys.key(.app, in: record.appID) else { continue }
                let resealed = try NotificationRecord(try record.notification(key: appKey), key: appKey)
                try await connection.execute("UPDATE notification SET sealed = \(resealed.sealed), audience = \(resealed.audience) WHERE id = \(record.id)")
            }
            guard try await connection.value("SELECT to_regclass('idempotencykeylegacy') IS NOT NULL", as: Bool.self) == true else { return true }
            for row in try await connection.rows("SELECT appID, scope, key, fingerprint, resultID, createdAt FROM idempotencyKeyLegacy") {
                let (appID, scope, key, legacy, resultID, createdAt) = try row.decode((AppID, String, String, Data, String, Int64).self)
                guard let appKey = try await keys.key(.app, in: appID) else { continue }
                let fingerprint = IdempotencyKey.upgradedFingerprint(legacy: legacy, appKey: appKey)
                try await connection.execute(
                    """
                    INSERT INTO idempotencyKey (appID, scope, key, fingerprint, resultID, createdAt)
                    VALUES (\(appID), \(scope), \(key), \(fingerprint), \(resultID), \(createdAt)) ON CONFLICT DO NOTHING
                    """)
            }
            try await connection.execute("DROP TABLE idempotencyKeyLegacy")
            return true
        }
        if upgraded {
            for table in ["idempotencyKey", "channel", "notification"] { try await database.execute(PostgresQuery(unsafeSQL: "VACUUM FULL \(table)")) }
        }
    }

    /// The app's own data key.
    /// - Throws: `HeraldError.notFound` for an unknown app.
    func appKey(_ app: AppID) async throws -> DataKey {
        guard let key = try await keys.key(.app, in: app) else { throw HeraldError.notFound(resource: "app") }
        return key
    }

    public func close() async throws {
        await database.close()
        await keys.close()
    }

    public func checkAvailable() async throws {
        try await database.execute("SELECT 1")
    }

    public func purgeIdempotencyKeys(olderThan cutoff: Date) async throws -> Int {
        try await database.values("DELETE FROM idempotencyKey WHERE createdAt < \(WireTime.milliseconds(cutoff)) RETURNING 1", as: Int.self).count
    }

    /// Writes one batch in one transaction, tells the observer, and returns a result per request.
    static func commit(
        _ batch: [MessageWrite], database: PostgresDatabase, keys: PostgresKeyRing, node: String, local: LocalCommits, observer: CommitObserver
    ) async throws
        -> [Result<AppendResult, any Error>]
    {
        // Keys are looked up before the transaction: a lookup may itself query the key database.
        let senderKeys = try await PostgresMessageBatchWriter.keys(for: batch, keys: keys, database: database)
        let (results, committed) = try await database.uncancellableTransaction { connection in
            var writer = PostgresMessageBatchWriter(connection: connection, keys: senderKeys)
            try await writer.lockChannels(of: batch)
            let results = try await writer.applyAll(batch)
            if !writer.committed.isEmpty {
                let batchID = RandomToken.base32(byteCount: 10)
                try await announce(writer.committed, node: node, batch: batchID, on: connection)
                // Registered before COMMIT, so it is here when this node hears the announcement.
                local.register(writer.committed, batch: batchID)
            }
            return (results, writer.committed)
        }
        if !committed.isEmpty { observer(committed) }
        return results
    }
}
