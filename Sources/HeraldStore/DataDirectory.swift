public import Foundation
public import HeraldCore

/// The embedded store's folder: `herald.sqlite` (+ WAL files) and `master.key`.
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

    /// What `prepare` created.
    public struct Preparation: Sendable {
        public var createdDirectory = false
        public var createdDatabase = false
        public var createdMasterKey = false
        public var masterKey: MasterKey
    }

    public enum Failure: Error, CustomStringConvertible {
        case unreadableMasterKey(String)
        case cannotCreate(String)

        public var description: String {
            switch self {
            case .unreadableMasterKey(let detail): "cannot use the master key: \(detail)"
            case .cannotCreate(let detail): "cannot create the data directory: \(detail)"
            }
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
                return Preparation(createdDirectory: createdDirectory, createdDatabase: createdDatabase, masterKey: key)
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
        guard files.createFile(atPath: masterKeyURL.path, contents: Data((key.base64 + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw Failure.cannotCreate("cannot write \(masterKeyURL.path)")
        }
        return Preparation(createdDirectory: createdDirectory, createdDatabase: createdDatabase, createdMasterKey: true, masterKey: key)
    }
}
