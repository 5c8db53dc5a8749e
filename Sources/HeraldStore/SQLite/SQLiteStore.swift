public import Foundation
import GRDB
public import HeraldCore
import Synchronization

/// The embedded store: one SQLite file in WAL mode through a GRDB `DatabasePool` (one writer,
/// concurrent readers), durable against power loss by default.
///
/// Message writes go through a `CommitLoop`, so concurrent sends share one transaction and one
/// fsync, and the loop keeps the channels it writes to in memory (`WriterChannelMemory`). Other
/// writes (apps, users, channels, read positions) are rare enough to take their own transaction; GRDB
/// serializes all of them on the pool's single writer connection. WAL checkpoints run on a connection
/// of their own (`WALCheckpointer`), never inside a commit.
public final class SQLiteStore: Store {
    let pool: SQLitePool
    public let keys: KeyRing
    let now: @Sendable () -> Date
    let observer: CommitObserver
    let writer: CommitLoop<MessageWrite, AppendResult>
    let auditWriter: GroupCommitter<AuditWrite, Void>
    /// The data directory's lock, when this process holds it: no other process uses the database.
    let lock: DirectoryLock?
    let checkpointer: WALCheckpointer
    /// What the message writer remembers of channels (`WriterChannelMemory`).
    let writerMemory: WriterMemoryBox
    /// The users' token epochs read so far (`ObservedTableCache`).
    let tokenEpochs = ObservedTableCache<AppUser, String>.tokenEpochs()
    /// Who may read each channel, as read so far (`ObservedTableCache`).
    let channelReaders = ObservedTableCache<ChannelID, ChannelReaders>.channelReaders()
    /// The pages of recent messages, as the writer committed them (`RecentMessages`).
    let recentMessages: RecentMessages
    /// Shared notification content opened so far (`SharedContentCache`).
    let sharedContent = SharedContentCache()
    /// Customers' inbox pages as their responses' JSON (`InboxPages`).
    let inboxPages = InboxPages()

    /// Opens (creating if needed) the database at `path` and runs pending migrations.
    /// - Parameters:
    ///   - keys: the key store that seals content; by default `PATH-keys` next to the database, opened with
    ///     `masterKey` (`herald serve` passes `DIR/keys.sqlite`).
    ///   - now: the clock; times are truncated to milliseconds so they round-trip exactly.
    ///   - observer: told of every committed message change, in commit order.
    public init(
        path: String,
        masterKey: MasterKey,
        keys: KeyRing? = nil,
        durability: Durability = .full,
        lock: DirectoryLock? = nil,
        commitMeter: CommitMeter? = nil,
        now: @escaping @Sendable () -> Date = { Date() },
        observer: @escaping CommitObserver = { _ in }
    ) throws {
        let keys = try keys ?? KeyRing(path: path + "-keys", masterKeys: [masterKey])
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // Sorts and temporary indexes stay in memory: plaintext never reaches a temporary file.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            // What is deleted (an erased customer's rows, purged keys, settled outbox rows) is overwritten
            // with zeros, not left in free pages for whoever copies the file.
            try db.execute(sql: "PRAGMA secure_delete = ON")
            // Pages read through a memory map (no read(2) per page). A read error of the disk under the
            // map ends the process (SIGBUS) instead of failing one query: the service manager restarts it.
            try db.execute(sql: "PRAGMA mmap_size = 268435456")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        // Set on the pool's one writer connection after it entered WAL mode: SQLite applies its
        // WAL default (NORMAL, not durable against power loss) when a connection switches to WAL.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
            // 64 MiB of page cache for the one writer (2 MiB by default): its index pages stay in memory
            // as channels grow. Readers keep the default.
            try db.execute(sql: "PRAGMA cache_size = -65536")
            // Checkpoints run on the checkpointer's connection, not inside the writer's commits
            // (`WALCheckpointer`), about once a second; the WAL holds a second of commits in between
            // (about 130 MB at 13,000 messages a second), and is cut back to 256 MiB when it starts
            // again, so a busy second's file is reused rather than cut and grown again every second.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            try db.execute(sql: "PRAGMA journal_size_limit = 268435456")
        }
        try SQLiteMigrations.migrator.migrate(pool)
        let channelChanges = ChannelChangeObserver()
        pool.add(transactionObserver: channelChanges, extent: .databaseLifetime)
        let recentMessages = RecentMessages()
        for watch in [
            CommitWatch(watching: tokenEpochs.watches, forget: tokenEpochs.forgetAll),
            CommitWatch(watching: channelReaders.watches, forget: channelReaders.forgetAll),
            CommitWatch(watching: RecentMessages.watches, forget: recentMessages.forgetAll),
        ] {
            pool.add(transactionObserver: watch, extent: .databaseLifetime)
        }
        pool.add(transactionObserver: inboxPages.watch, extent: .databaseLifetime)
        try pool.writeWithoutTransaction { [inboxPages] db in try inboxPages.install(on: db) }
        self.recentMessages = recentMessages
        let memory = WriterMemoryBox(observer: channelChanges)
        self.writerMemory = memory
        try SQLitePool.mappingDecodeErrors {
            // Apps made before they had a key store (or whose key creation was interrupted) get their key now.
            for app in try pool.read({ db in try AppID.fetchAll(db, sql: "SELECT id FROM app") }) {
                try keys.ensureAppKey(app)
            }
            try Self.upgradeClearContent(pool: pool, keys: keys)
            if lock != nil {
                // This process alone uses the directory: a fan-out leased to a process that stopped is
                // nobody's, and resumes at the scheduler's next run rather than when its lease runs out.
                try pool.write { db in try db.execute(sql: "UPDATE notification SET leaseUntil = NULL WHERE status = 'sending'") }
            }
        }
        // After the upgrade above: its TRUNCATE checkpoint must not meet one of the checkpointer's.
        self.checkpointer = try WALCheckpointer(path: path, durability: durability)
        self.pool = SQLitePool(raw: pool)
        self.lock = lock
        self.keys = keys
        self.now = { WireTime.truncated(now()) }
        self.observer = observer
        self.writer = CommitLoop(label: "herald.sqlite.message-writer", meter: commitMeter) { [pool, keys, observer] batch in
            try SQLitePool.mappingDecodeErrors {
                try SQLiteStore.commit(batch, pool: pool, keys: keys, memory: memory, recent: recentMessages, observer: observer)
            }
        }
        self.auditWriter = GroupCommitter { [pool = self.pool, keys] batch in try await SQLiteStore.commitAudit(batch, pool: pool, keys: keys) }
    }

    /// Seals what an earlier version kept in clear: replaces the requests that idempotency rows held by
    /// their keyed hashes, seals channel names and notification audiences; then vacuums and truncates the WAL, so no file keeps a
    /// page with the old bytes. Runs in one transaction: a crash before the end changes nothing, and the
    /// next start does it again.
    static func upgradeClearContent(pool: DatabasePool, keys: KeyRing) throws {
        // Whether anything that was in clear was changed or dropped: the file then needs a vacuum.
        let changed = try pool.write { db -> Bool in
            var changed = false
            for row in try Row.fetchAll(db, sql: "SELECT id, appID, name FROM channel WHERE name IS NOT NULL") {
                let (id, app, name): (ChannelID, AppID, String) = try (row.decode(forColumn: "id"), row.decode(forColumn: "appID"), row.decode(forColumn: "name"))
                guard let appKey = try keys.key(.app, in: app) else { continue }
                try db.execute(
                    sql: "UPDATE channel SET name = NULL, sealedName = ? WHERE id = ?",
                    arguments: [try appKey.seal(Data(name.utf8), context: SealingContext.channelName(id)), id])
                changed = true
            }
            for record in try NotificationRecord.filter(sql: "audience != ?", arguments: [NotificationRecord.sealedAudience]).fetchAll(db) {
                guard let appKey = try keys.key(.app, in: record.appID) else { continue }
                let resealed = try NotificationRecord(try record.notification(key: appKey), key: appKey)
                try db.execute(sql: "UPDATE notification SET sealed = ?, audience = ? WHERE id = ?", arguments: [resealed.sealed, resealed.audience, record.id])
                changed = true
            }
            guard try db.tableExists("idempotencyKeyLegacy") else { return changed }
            let rows = try Row.fetchAll(db, sql: "SELECT appID, scope, key, fingerprint, resultID, createdAt FROM idempotencyKeyLegacy")
            for row in rows {
                let appID: AppID = try row.decode(forColumn: "appID")
                guard let appKey = try keys.key(.app, in: appID) else { continue }
                try IdempotencyRecord(
                    appID: appID, scope: try row.decode(forColumn: "scope"), key: try row.decode(forColumn: "key"),
                    fingerprint: IdempotencyKey.upgradedFingerprint(legacy: try row.decode(forColumn: "fingerprint"), appKey: appKey),
                    resultID: try row.decode(forColumn: "resultID"), createdAt: try row.decode(forColumn: "createdAt"), userID: nil
                ).save(db)
            }
            try db.execute(sql: "DROP TABLE idempotencyKeyLegacy")
            // Even with no row left to convert: the rows the sweeper deleted before may sit in free pages.
            return true
        }
        if changed {
            // The WAL still holds the frames that had the requests: checkpoint it into the vacuumed file and truncate it.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "VACUUM")
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
        }
    }

    func nowMilliseconds() -> Int64 { WireTime.milliseconds(now()) }

    /// The app's own data key, which seals what the business owns (credentials, signing keys, its content).
    /// - Throws: `HeraldError.notFound` for an unknown app.
    func appKey(_ app: AppID) throws -> DataKey {
        guard let key = try keys.key(.app, in: app) else { throw HeraldError.notFound(resource: "app") }
        return key
    }

    /// Checkpoints the WAL into `herald.sqlite` first, so that after a clean stop the database file alone
    /// is the whole database (what copying it backs up). Alone (the server, a restore: the caller holds
    /// the directory's lock), it also truncates the WAL; beside a running server (a backup, `apps
    /// create`) it copies only what no reader holds (PASSIVE), never making the server's writers wait.
    /// A checkpoint that cannot finish is not an error: the WAL keeps the rest, and SQLite checkpoints
    /// it at the next close of the last connection.
    public func close() async throws {
        let mode = lock != nil ? "TRUNCATE" : "PASSIVE"
        checkpointer.stop()
        _ = try? await pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(\(mode))") }
        try pool.close()
        try keys.close()
    }

    public func checkAvailable() async throws {
        try await pool.read { db in try db.execute(sql: "SELECT 1") }
    }

    public func purgeIdempotencyKeys(olderThan cutoff: Date) async throws -> Int {
        try await pool.write { db in
            try IdempotencyRecord.filter(IdempotencyRecord.Columns.createdAt < WireTime.milliseconds(cutoff)).deleteAll(db)
        }
    }

    /// Writes one batch in one transaction, tells the observer, and returns a result per request.
    /// Runs on the commit loop's thread (GRDB's synchronous write): no task, so no caller's
    /// cancellation can abort a batch that belongs to many.
    static func commit(
        _ batch: [MessageWrite], pool: DatabasePool, keys: KeyRing, memory: WriterMemoryBox, recent: RecentMessages, observer: CommitObserver
    ) throws -> [Result<AppendResult, any Error>] {
        let generation = recent.generation()
        let (results, committed) = try memory.state.withLock { memory in
            do {
                return try pool.write { db in
                    try memory.validate(db)
                    var batchWriter = MessageBatchWriter(db: db, keys: keys)
                    let results = try batch.map { try batchWriter.apply($0, memory: &memory) }
                    try memory.flush(db)
                    return (results, batchWriter.committed)
                }
            } catch {
                // Rolled back: the seqs the memory moved on were never written.
                memory.forget()
                throw error
            }
        }
        if !committed.isEmpty {
            recent.add(committed, writtenIn: generation)
            observer(committed)
        }
        return results
    }
}

/// The message writer's `WriterChannelMemory`, held for the commit loop (only its thread uses it).
final class WriterMemoryBox: Sendable {
    let state: Mutex<WriterChannelMemory>

    init(observer: ChannelChangeObserver) {
        state = Mutex(WriterChannelMemory(observer: observer))
    }
}
