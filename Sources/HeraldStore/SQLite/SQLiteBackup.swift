public import Foundation
import GRDB
import HeraldCore
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

    /// What a restore did.
    public struct Restoration: Sendable {
        /// Where the database that was in place (with its WAL and SHM) was moved; nil when there was none.
        public var previous: String?
    }

    /// Puts the copy at `source` in the place of the database at `destination`, in this order, so that
    /// nothing is lost whatever goes wrong:
    /// 1. checks the copy (an SQLite file whose integrity check passes, with Herald's tables);
    /// 2. writes it next to the database (0600, owned by the directory's owner, synced);
    /// 3. checks it against the current key store (`keys`): every app of the copy has its key there and
    ///    the copy's audit chains verify with the audit key (a copy from another install is refused here);
    /// 4. moves the database and its WAL and SHM aside (`herald.sqlite.before-restore-TIME`, never
    ///    deleted: an old WAL left beside the restored file would be replayed over it);
    /// 5. renames the copy into place and syncs the folder.
    /// - Throws: `Failure.notACopy` before anything in place changed.
    public static func restore(_ source: String, to destination: String, keys: KeyRing) throws -> Restoration {
        guard FileManager.default.fileExists(atPath: source) else { throw Failure.noDatabase(source) }
        try check(source)
        let staged = destination + ".restoring"
        try? FileManager.default.removeItem(atPath: staged)
        try PrivateFile.createEmpty(at: staged)
        do {
            let copy = try DatabaseQueue(path: staged)
            try DatabaseQueue(path: source, configuration: readOnly).backup(to: copy)
            try copy.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
            try copy.close()
            try PrivateFile.giveToOwnerOfFolder(staged)
            try verify(staged, against: keys, naming: source)
        } catch {
            try? FileManager.default.removeItem(atPath: staged)
            throw error
        }
        var previous: String?
        if FileManager.default.fileExists(atPath: destination) {
            let aside = destination + ".before-restore-" + WireTime.format(Date()).filter { $0.isNumber }
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: destination + suffix) {
                guard rename(destination + suffix, aside + suffix) == 0 else {
                    throw PrivateFile.Failure(description: "cannot move \(destination + suffix) aside: \(String(cString: strerror(errno)))")
                }
            }
            previous = aside
        }
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: destination + suffix) {
            // A WAL without its database (an earlier restore stopped between two renames) must not meet the
            // copy; it is kept too, beside the database it belongs to.
            let orphan = destination + ".orphan-" + WireTime.format(Date()).filter { $0.isNumber } + suffix
            guard rename(destination + suffix, orphan) == 0 else {
                throw PrivateFile.Failure(description: "cannot move \(destination + suffix) aside: \(String(cString: strerror(errno)))")
            }
        }
        guard rename(staged, destination) == 0 else {
            throw PrivateFile.Failure(description: "cannot rename \(staged) to \(destination): \(String(cString: strerror(errno)))")
        }
        PrivateFile.syncFolder(of: destination)
        return Restoration(previous: previous)
    }

    /// The copy opens with this key store: each app's key is there, and the audit chains verify.
    static func verify(_ path: String, against keys: KeyRing, naming source: String) throws {
        let queue = try DatabaseQueue(path: path, configuration: readOnly)
        defer { try? queue.close() }
        let (apps, entries) = try SQLitePool.mappingDecodeErrors {
            try queue.read { db in
                (try AppID.fetchAll(db, sql: "SELECT id FROM app"), try AuditEventRecord.fetchAll(db, sql: "SELECT * FROM auditEvent ORDER BY id"))
            }
        }
        for app in apps where try keys.key(.app, in: app) == nil {
            throw Failure.notACopy(source, reason: "app \(app) has no key in this key store: the copy is from another data directory")
        }
        guard !entries.isEmpty else { return }
        var verifier = AuditVerifier(key: try keys.auditKey())
        do {
            for entry in entries { try verifier.check(entry.verified) }
        } catch {
            throw Failure.notACopy(source, reason: "its audit trail does not verify with this key store (\(error))")
        }
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
