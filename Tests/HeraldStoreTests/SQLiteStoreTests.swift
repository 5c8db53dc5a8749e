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

        let (journal, synchronous) = try await store.pool.write { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }

        #expect(journal == "wal")
        #expect(synchronous == 2, "2 is FULL")
        try await store.close()
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
