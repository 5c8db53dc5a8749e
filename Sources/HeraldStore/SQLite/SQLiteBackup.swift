public import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// Online backups of the embedded store with SQLite's backup API (through GRDB): a consistent copy
/// of the database as of one moment, taken while the server keeps writing (WAL lets the copy read
/// a snapshot without blocking the writer).
///
/// The copy holds what the database holds: content and secrets sealed with data keys, which are not
/// in it (they are in the key store, `DIR/keys.sqlite`, wrapped by the master key). Restore a copy
/// against the current key store, so that users erased since stay erased.
public enum SQLiteBackup {
    public struct Summary: Sendable {
        public var bytes: Int
        public var pages: Int
    }

    public enum Failure: Error, CustomStringConvertible {
        case noDatabase(String)
        case destinationExists(String)
        case notACopy(String, reason: String)

        public var description: String {
            switch self {
            case .noDatabase(let path): "no database at \(path)"
            case .destinationExists(let path): "\(path) exists; a backup never overwrites a file"
            case .notACopy(let path, let reason): "\(path) is not a copy of a Herald database (\(reason)): give a file made by herald backup"
            }
        }
    }

    /// Copies the database at `source` into a new file `destination`.
    public static func copy(from source: String, to destination: String) throws -> Summary {
        guard FileManager.default.fileExists(atPath: source) else { throw Failure.noDatabase(source) }
        guard !FileManager.default.fileExists(atPath: destination) else { throw Failure.destinationExists(destination) }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        let live = try DatabasePool(path: source, configuration: configuration)
        // 0600 before the first byte: a backup holds every sealed row and is nobody else's to read.
        try PrivateFile.createEmpty(at: destination)
        let copy = try DatabaseQueue(path: destination)
        try live.backup(to: copy)
        let pages = try copy.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0 }
        // A single file, not in WAL mode, so it can be moved, archived or restored as it is.
        try copy.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
        try copy.close()
        try live.close()
        PrivateFile.syncFolder(of: destination)
        let bytes = (try FileManager.default.attributesOfItem(atPath: destination)[.size] as? Int) ?? 0
        return Summary(bytes: bytes, pages: pages)
    }

    /// Puts the copy at `source` in the place of the database at `destination`: checks the copy, writes it
    /// next to the database (0600, synced), removes the database's WAL and SHM files (SQLite would replay
    /// an old WAL over the restored file), then renames it over the database and syncs the folder.
    /// - Throws: `Failure.notACopy` for a file that is not a sound Herald database; nothing is changed then.
    public static func restore(_ source: String, to destination: String) throws {
        guard FileManager.default.fileExists(atPath: source) else { throw Failure.noDatabase(source) }
        try check(source)
        let staged = destination + ".restoring"
        try? FileManager.default.removeItem(atPath: staged)
        try PrivateFile.createEmpty(at: staged)
        let copy = try DatabaseQueue(path: staged)
        try DatabaseQueue(path: source, configuration: readOnly).backup(to: copy)
        try copy.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
        try copy.close()
        for suffix in ["-wal", "-shm"] {
            let path = destination + suffix
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        }
        guard rename(staged, destination) == 0 else {
            throw PrivateFile.Failure(description: "cannot rename \(staged) to \(destination): \(String(cString: strerror(errno)))")
        }
        PrivateFile.syncFolder(of: destination)
    }

    /// An SQLite file whose integrity check passes and which holds Herald's tables.
    static func check(_ path: String) throws {
        do {
            let queue = try DatabaseQueue(path: path, configuration: readOnly)
            defer { try? queue.close() }
            try queue.read { db in
                let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
                guard integrity == ["ok"] else { throw Failure.notACopy(path, reason: "integrity check: \(integrity.prefix(3).joined(separator: "; "))") }
                for table in ["app", "message", "auditEvent"] where try !db.tableExists(table) {
                    throw Failure.notACopy(path, reason: "no \(table) table")
                }
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure.notACopy(path, reason: "\(error)")
        }
    }

    private static var readOnly: Configuration {
        var configuration = Configuration()
        configuration.readonly = true
        return configuration
    }
}
