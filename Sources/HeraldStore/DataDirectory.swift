public import Foundation
public import HeraldCore

/// The embedded store's folder: `herald.sqlite` (+ WAL files), `keys.sqlite` (the key store) and
/// `master.key`.
///
/// Opening it creates what is missing and reports what it created, so that `herald serve` can say so
/// in its log on first start.
public struct DataDirectory: Sendable {
    public let url: URL

    public init(path: String) {
        url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
    }

    public var databaseURL: URL { url.appendingPathComponent("herald.sqlite") }
    public var masterKeyURL: URL { url.appendingPathComponent("master.key") }
    public var keysURL: URL { url.appendingPathComponent("keys.sqlite") }
    /// A rotation's new master key, written before the key store is re-wrapped and renamed over
    /// `master.key` after: whichever of the two opens the key store is the right one.
    public var nextMasterKeyURL: URL { url.appendingPathComponent("master.key.next") }
    var lockURL: URL { url.appendingPathComponent("herald.lock") }

    /// What `prepare` created.
    public struct Preparation: Sendable {
        public var createdDirectory = false
        public var createdDatabase = false
        public var createdMasterKey = false
        public var masterKey: MasterKey
        /// The key came from `HERALD_MASTER_KEY`, not from the file.
        public var fromEnvironment = false
    }

    public enum Failure: Error, CustomStringConvertible {
        case unreadableMasterKey(String)
        case cannotCreate(String)
        case inUse(String)
        case missing(String)
        case missingKeys(String)

        public var description: String {
            switch self {
            case .unreadableMasterKey(let detail): "cannot use the master key: \(detail)"
            case .cannotCreate(let detail): "cannot create the data directory \(detail): choose a place this user can write with --data, or fix its permissions"
            case .inUse(let path): "\(path) is in use by another herald process (a running server?); stop it first"
            case .missingKeys(let path):
                "\(path) has no key store (keys.sqlite) or no master key (master.key or HERALD_MASTER_KEY), which a restore needs: give the data directory the server uses with --data, or put them back there first"
            case .missing(let path):
                "there is no Herald data directory at \(path) (no herald.sqlite): give the one the server uses with --data or HERALD_DATA; only `herald serve` and `herald apps create` make a new one"
            }
        }
    }

    /// Refuses a directory without a database: a command that only reads or changes what is there must
    /// not make a new, empty store (with a new master key) where a typo pointed it, and report success.
    public func requireExisting() throws {
        guard FileManager.default.fileExists(atPath: databaseURL.path) else { throw Failure.missing(url.path) }
    }

    /// For a restore, which may follow the loss of the database itself: the key store and a master key
    /// (the file, or `environmentKey`) must be there, since the copy opens only with them.
    public func requireKeys(environmentKey: String?) throws {
        let files = FileManager.default
        guard files.fileExists(atPath: keysURL.path), environmentKey != nil || files.fileExists(atPath: masterKeyURL.path) else {
            throw Failure.missingKeys(url.path)
        }
    }

    /// Creates the folder (0700) and the master key file (0600) if missing and loads the key.
    /// `environmentKey` (from `HERALD_MASTER_KEY`) wins over the file and is never written to disk.
    public func prepare(environmentKey: String? = nil) throws -> Preparation {
        let files = FileManager.default
        var createdDirectory = false
        if !files.fileExists(atPath: url.path) {
            do {
                try files.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw Failure.cannotCreate("\(url.path): \(error.localizedDescription)")
            }
            createdDirectory = true
        }
        let createdDatabase = !files.fileExists(atPath: databaseURL.path)
        if let environmentKey {
            do {
                let key = try MasterKey(base64: environmentKey)
                return Preparation(createdDirectory: createdDirectory, createdDatabase: createdDatabase, masterKey: key, fromEnvironment: true)
            } catch {
                throw Failure.unreadableMasterKey("HERALD_MASTER_KEY is not 32 bytes of base64")
            }
        }
        if files.fileExists(atPath: masterKeyURL.path) {
            guard let text = try? String(contentsOf: masterKeyURL, encoding: .utf8), let key = try? MasterKey(base64: text) else {
                throw Failure.unreadableMasterKey("\(masterKeyURL.path) is not 32 bytes of base64")
            }
            return Preparation(createdDirectory: createdDirectory, createdDatabase: createdDatabase, masterKey: key)
        }
        if !createdDatabase {
            // A database without its key would be unreadable once content is sealed: never invent a new one.
            throw Failure.unreadableMasterKey("\(masterKeyURL.path) is missing but the database exists; restore the key file or set HERALD_MASTER_KEY")
        }
        let key = MasterKey.generate()
        do {
            try PrivateFile.write(Array((key.base64 + "\n").utf8), to: masterKeyURL.path)
        } catch {
            throw Failure.cannotCreate("\(error)")
        }
        return Preparation(createdDirectory: createdDirectory, createdDatabase: createdDatabase, createdMasterKey: true, masterKey: key)
    }

    /// Opens the key store with the prepared master key, finishing a rotation that stopped between
    /// re-wrapping the keys and renaming `master.key.next` (only with the key file, not `HERALD_MASTER_KEY`).
    public func openKeyRing(_ prepared: Preparation, cacheLimit: Int = 100_000) throws -> KeyRing {
        if !prepared.createdDatabase, !FileManager.default.fileExists(atPath: keysURL.path) {
            // A new, empty key store would open nothing of what the database holds.
            throw Failure.unreadableMasterKey("\(keysURL.path) is missing but the database exists; restore the key store (herald backup --keys-out)")
        }
        var candidates = [prepared.masterKey]
        let pending = prepared.fromEnvironment ? nil : (try? String(contentsOf: nextMasterKeyURL, encoding: .utf8)).flatMap { try? MasterKey(base64: $0) }
        if let pending { candidates.append(pending) }
        let ring = try KeyRing(path: keysURL.path, masterKeys: candidates, cacheLimit: cacheLimit)
        if ring.masterKeyIndex == 1 {
            try completeRotation()
        } else if pending != nil {
            try? FileManager.default.removeItem(at: nextMasterKeyURL)
        }
        return ring
    }

    /// Writes a rotation's new key to `master.key.next` (0600) and syncs it to disk before anything is
    /// re-wrapped under it.
    public func writeNextMasterKey(_ key: MasterKey) throws {
        do {
            try PrivateFile.write(Array((key.base64 + "\n").utf8), to: nextMasterKeyURL.path, replacing: true)
        } catch {
            throw Failure.cannotCreate("\(error)")
        }
    }

    /// Puts `master.key.next` in the place of `master.key` with one atomic rename(2), then syncs the folder.
    public func completeRotation() throws {
        guard rename(nextMasterKeyURL.path, masterKeyURL.path) == 0 else {
            throw Failure.cannotCreate("cannot rename \(nextMasterKeyURL.path) to master.key: \(String(cString: strerror(errno)))")
        }
        PrivateFile.syncFolder(of: masterKeyURL.path)
    }

    /// Prepares the directory and opens the store on it: database, key store, master key. For a command:
    /// it takes the directory's lock when no server holds it (so a restore cannot start meanwhile, and
    /// closing may empty the WAL), and shares the database with the server otherwise.
    public func openStore(environmentKey: String?) throws -> SQLiteStore {
        let prepared = try prepare(environmentKey: environmentKey)
        return try openStore(prepared: prepared, lock: try? lock())
    }

    /// Opens the store on a prepared directory.
    /// - Parameter lock: the directory's lock (`lock()`) when the caller holds it: no other process uses the
    ///   database, so closing the store may truncate the WAL (see `SQLiteStore.close`). The store keeps it
    ///   until it is gone.
    public func openStore(
        prepared: Preparation, durability: Durability = .full, lock: DirectoryLock? = nil, commitMeter: CommitMeter? = nil,
        now: @escaping @Sendable () -> Date = { Date() },
        observer: @escaping CommitObserver = { _ in }
    ) throws -> SQLiteStore {
        do {
            return try SQLiteStore(
                path: databaseURL.path, masterKey: prepared.masterKey, keys: try openKeyRing(prepared), durability: durability, lock: lock, commitMeter: commitMeter, now: now,
                observer: observer)
        } catch {
            throw SQLiteFailure.explaining(error, directory: url.path) ?? error
        }
    }

    /// An exclusive lock on the directory, held while the returned handle lives: one server (or key
    /// rotation) per directory. Released by the kernel when the process dies, even by SIGKILL.
    /// - Throws: `Failure.inUse` when another process holds it.
    public func lock() throws -> DirectoryLock {
        let descriptor = open(lockURL.path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Failure.cannotCreate("cannot open \(lockURL.path)") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw Failure.inUse(url.path)
        }
        return DirectoryLock(descriptor: descriptor)
    }
}

/// The held lock of a data directory (see `DataDirectory.lock`).
public final class DirectoryLock: Sendable {
    private let descriptor: Int32

    init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { close(descriptor) }
}
