import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files only their owner may read (mode 0600 from the moment they exist, never widened afterwards),
/// written durably: the key file, a rotation's next key, backups of the database and the key store.
///
/// Written with open(2) rather than `FileManager.createFile`, which applies the mode after writing (a
/// window where a backup or a key is readable by others) and never fsyncs, so a power cut right after
/// the first start could lose a master key that `keys.sqlite` already depends on.
enum PrivateFile {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Writes `bytes` to a file at `path`, 0600, then fsyncs the file and its folder.
    /// - Parameter replacing: truncate an existing file; otherwise an existing file is an error (O_EXCL).
    static func write(_ bytes: [UInt8], to path: String, replacing: Bool = false) throws {
        let descriptor = open(path, O_CREAT | O_WRONLY | O_CLOEXEC | (replacing ? O_TRUNC : O_EXCL), 0o600)
        guard descriptor >= 0 else {
            let folder = (path as NSString).deletingLastPathComponent
            if errno == ENOENT {
                throw Failure(description: "cannot create \(path): the folder \(folder.isEmpty ? "." : folder) does not exist; create it first or choose another place")
            }
            throw Failure(description: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        guard fchmod(descriptor, 0o600) == 0, Foundation.write(descriptor, bytes, bytes.count) == bytes.count, fsync(descriptor) == 0 else {
            throw Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        syncFolder(of: path)
    }

    /// Creates an empty file at `path`, 0600 (an error if one exists), for SQLite to fill: SQLite keeps the
    /// mode of an existing file, and gives its journal the same one.
    static func createEmpty(at path: String) throws {
        try write([], to: path)
    }

    /// Gives the file to the owner of its folder when this process runs as root (`sudo herald restore`),
    /// so that the service's own user can still open what root wrote into its data directory.
    static func giveToOwnerOfFolder(_ path: String) throws {
        guard geteuid() == 0 else { return }
        let folder = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        var info = stat()
        guard stat(folder, &info) == 0, info.st_uid != 0 || info.st_gid != 0 else { return }
        guard chown(path, info.st_uid, info.st_gid) == 0 else {
            throw Failure(description: "cannot give \(path) to the owner of \(folder): \(String(cString: strerror(errno)))")
        }
    }

    /// fsyncs the folder holding `path`, so that a new name in it survives a power cut.
    static func syncFolder(of path: String) {
        let folder = open((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY)
        guard folder >= 0 else { return }
        fsync(folder)
        close(folder)
    }
}
