import Foundation
import GRDB
import HeraldCore
@testable import HeraldStore
import Testing

@Suite("SQLite specifics")
struct SQLiteStoreTests {
    @Test("The database is in WAL mode and fsyncs every commit by default")
    func durableByDefault() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("h.sqlite").path, masterKey: .generate())

        let (journal, synchronous) = try await store.pool.raw.write { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }

        #expect(journal == "wal")
        #expect(synchronous == 2, "2 is FULL")
        try await store.close()
    }

    @Test("Commits never checkpoint the WAL; the checkpointer's own connection copies it back, all of it once it is large")
    func checkpointsOffTheCommitPath() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("h.sqlite").path
        let store = try SQLiteStore(path: path, masterKey: .generate())
        let app = try await store.createApp(name: "Acme").app.id
        let channel = try await store.createChannel(NewChannel(type: .group, members: [], name: "team"), in: app).channel.id
        let (checkpoints, continuation) = AsyncStream.makeStream(of: WALCheckpointer.Report.self)
        let checkpointer = try WALCheckpointer(path: path, durability: .full, interval: .milliseconds(10), restartFrames: 20) { continuation.yield($0) }

        let autocheckpoint = try await store.pool.raw.write { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") }
        // Commits go on until a RESTART is reported: a tick that met the store's own checkpointer
        // (SQLite runs one checkpoint at a time) leaves the RESTART to a later one.
        let writing = Task {
            var index = 0
            while !Task.isCancelled {
                _ = try await store.append(AppendRequest(app: app, channel: channel, sender: nil, content: MessageContent(text: "message \(index)")))
                index += 1
            }
        }
        var copied = 0
        var restart: WALCheckpointer.Report?
        for await checkpoint in checkpoints {
            copied = max(copied, checkpoint.copied)
            if checkpoint.mode == .restart {
                restart = checkpoint
                break
            }
        }
        writing.cancel()
        _ = await writing.result
        checkpointer.stop()
        continuation.finish()
        try await store.close()

        #expect(autocheckpoint == 0, "the writer's connection does not checkpoint inside its commits")
        #expect(copied > 0)
        #expect(restart.map { $0.walFrames >= 20 && $0.copied > 0 } == true, "past 20 frames, a RESTART followed the PASSIVE checkpoint")
    }

    @Test("Preparing a data directory creates the key once, mode 0600, and never replaces a lost one")
    func dataDirectory() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("herald-dir-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let directory = DataDirectory(path: path)

        let first = try directory.prepare()
        _ = try SQLiteStore(path: directory.databaseURL.path, masterKey: first.masterKey)
        let second = try directory.prepare()
        let mode = try FileManager.default.attributesOfItem(atPath: directory.masterKeyURL.path)[.posixPermissions] as? Int

        #expect(first.createdDirectory && first.createdMasterKey && first.createdDatabase)
        #expect(!second.createdMasterKey && !second.createdDatabase && second.masterKey.base64 == first.masterKey.base64)
        #expect(mode == 0o600)
        try FileManager.default.removeItem(at: directory.masterKeyURL)
        #expect(throws: DataDirectory.Failure.self) { try directory.prepare() }
    }
}

@Suite("SQLite upgrades")
struct SQLiteUpgradeTests {
    @Test("Idempotency rows of an earlier version, which held the request, are replaced by keyed hashes at start and still recognise a repeat")
    func legacyIdempotencyRowsAreKeyed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("h.sqlite").path
        let masterKey = MasterKey.generate()
        let marker = "MARKER-\(UUID().uuidString)"
        let content = MessageContent(text: marker)
        let key = IdempotencyKey(scope: "http:test", key: ClientMessageID(rawValue: "k1")!, request: content.canonicalBytes(sender: nil), user: nil, requiresSameRequest: true)
        var store = try SQLiteStore(path: path, masterKey: masterKey)
        let app = try await store.createApp(name: "Acme").app.id
        let channel = try await store.createChannel(NewChannel(type: .group, members: [], name: "team"), in: app).channel
        let first = try await store.append(AppendRequest(app: app, channel: channel.id, sender: nil, content: content, idempotency: key))
        // As an earlier version left it: the canonical request itself, in the table the migration moved it to.
        try await store.pool.raw.write { db in
            try db.execute(sql: "CREATE TABLE idempotencyKeyLegacy AS SELECT appID, scope, key, fingerprint, resultID, createdAt FROM idempotencyKey")
            try db.execute(sql: "UPDATE idempotencyKeyLegacy SET fingerprint = ?", arguments: [content.canonicalBytes(sender: nil)])
            try db.execute(sql: "DELETE FROM idempotencyKey")
        }
        try await store.close()

        store = try SQLiteStore(path: path, masterKey: masterKey)
        let replay = try await store.append(AppendRequest(app: app, channel: channel.id, sender: nil, content: content, idempotency: key))
        let other = IdempotencyKey(scope: key.scope, key: key.key, request: Data("another body".utf8), user: nil, requiresSameRequest: true)
        let hasLegacy = try await store.pool.raw.read { db in try db.tableExists("idempotencyKeyLegacy") }
        try await store.close()
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).map { try Data(contentsOf: directory.appendingPathComponent($0)) }

        #expect(replay.isReplay && replay.message.id == first.message.id)
        #expect(!hasLegacy)
        #expect(!files.contains { $0.range(of: Data(marker.utf8)) != nil }, "the vacuum and the truncated WAL left no page with the request")
        store = try SQLiteStore(path: path, masterKey: masterKey)
        await #expect(throws: HeraldError.self) { try await store.append(AppendRequest(app: app, channel: channel.id, sender: nil, content: MessageContent(text: "x"), idempotency: other)) }
        try await store.close()
    }
}

extension SQLiteUpgradeTests {
    @Test("Channel names an earlier version kept in clear are sealed at start, read back the same, and leave no page in clear")
    func legacyChannelNamesAreSealed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("h.sqlite").path
        let masterKey = MasterKey.generate()
        let marker = "Dispute \(UUID().uuidString)"
        var store = try SQLiteStore(path: path, masterKey: masterKey)
        let app = try await store.createApp(name: "Acme").app.id
        let channel = try await store.createChannel(NewChannel(type: .group, members: [], name: "placeholder"), in: app).channel
        try await store.pool.raw.write { db in
            try db.execute(sql: "UPDATE channel SET name = ?, sealedName = NULL WHERE id = ?", arguments: [marker, channel.id.rawValue])
        }
        try await store.close()

        store = try SQLiteStore(path: path, masterKey: masterKey)
        let reopened = try await store.channel(channel.id, in: app)
        let clear = try await store.pool.raw.read { db in try String?.fetchOne(db, sql: "SELECT name FROM channel") ?? nil }
        try await store.close()
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).map { try Data(contentsOf: directory.appendingPathComponent($0)) }

        #expect(reopened?.name == marker)
        #expect(clear == nil)
        #expect(!files.contains { $0.range(of: Data(marker.utf8)) != nil })
    }
}

@Suite("Store copy coverage")
struct StoreCopyCoverageTests {
    @Test("herald store copy names every table of the embedded store (a new table is not silently left behind)")
    func everyTableIsCopied() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("h.sqlite").path, masterKey: .generate())

        let tables = try await store.pool.raw.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%'")
        }
        try await store.close()

        #expect(Set(tables) == Set(StoreCopy.contentTables))
    }
}

@Suite("Private files")
struct PrivateFileTests {
    @Test("The master key, a database backup and a key-store backup are created 0600, never readable by others")
    func ownerOnly() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("herald-dir-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let directory = DataDirectory(path: path)
        let prepared = try directory.prepare()
        let store = try directory.openStore(prepared: prepared)
        _ = try await store.createApp(name: "Acme")
        let backup = path + "/backup.sqlite", keys = path + "/backup-keys.sqlite"

        _ = try SQLiteBackup.copy(from: directory.databaseURL.path, to: backup)
        try store.keys.backup(to: keys)
        try await store.close()

        for file in [directory.masterKeyURL.path, backup, keys] {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file)")
        }
        #expect(throws: (any Error).self, "a backup never overwrites") { try store.keys.backup(to: keys) }
    }
}
