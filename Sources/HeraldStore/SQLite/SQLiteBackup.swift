public import Foundation
import GRDB

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

        public var description: String {
            switch self {
            case .noDatabase(let path): "no database at \(path)"
            case .destinationExists(let path): "\(path) exists; a backup never overwrites a file"
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
}
