import Foundation
import GRDB

/// What an SQLite error at start-up (or in a command) means for the operator, in one sentence with
/// the fix: GRDB's "SQLite error 13: database or disk is full - while executing `COMMIT TRANSACTION`"
/// names neither the place nor what to do.
public struct SQLiteFailure: Error, CustomStringConvertible {
    public var description: String

    /// The explanation of `error` when it is an SQLite error worth explaining, else nil.
    /// - Parameter directory: the data directory, named in the sentence.
    public static func explaining(_ error: any Error, directory: String) -> SQLiteFailure? {
        guard let error = error as? DatabaseError else { return nil }
        // A write that fails for lack of space shows as SQLITE_IOERR as often as SQLITE_FULL (the WAL's
        // shared memory, a journal): the file system says which.
        let isFull = error.resultCode == .SQLITE_FULL || (error.resultCode == .SQLITE_IOERR && freeBytes(at: directory).map { $0 < 1 << 20 } == true)
        let sentence: String? =
            switch error.resultCode {
            case _ where isFull:
                "the disk holding \(directory) is full (SQLite could not write): free space there, or move the data directory and point --data at it"
            case .SQLITE_READONLY:
                "\(directory) cannot be written (SQLite opened it read-only): give this user write access to the directory and its files, or choose another with --data"
            case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_AUTH:
                "the database in \(directory) cannot be opened (\(error.message ?? "no detail")): give this user read and write access to the directory and its files, or choose another with --data"
            case .SQLITE_NOTADB, .SQLITE_CORRUPT:
                "the database in \(directory) is damaged or is not a Herald database (\(error.message ?? "no detail")): restore it from a backup (herald backup), or choose another directory with --data"
            case .SQLITE_IOERR:
                "reading or writing \(directory) failed (\(error.message ?? "I/O error")): check the disk and the file system (dmesg), then start again"
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                "the database in \(directory) is locked by another process: stop it (another herald?) and start again"
            default:
                nil
            }
        return sentence.map(SQLiteFailure.init(description:))
    }

    /// Bytes free for this user on the file system holding `path` (or its nearest existing parent).
    private static func freeBytes(at path: String) -> UInt64? {
        var url = URL(fileURLWithPath: path)
        while !FileManager.default.fileExists(atPath: url.path), url.path != "/" { url.deleteLastPathComponent() }
        var stats = statvfs()
        guard statvfs(url.path, &stats) == 0 else { return nil }
        return UInt64(stats.f_bavail) * UInt64(stats.f_frsize)
    }
}
