import ArgumentParser
import Foundation
import HeraldCore
import HeraldStore

/// `--data DIR` / `--database URL`, shared by every command that opens the store.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory of the embedded store (env HERALD_DATA; default ./herald-data).")
    var data: String?

    @Option(
        name: .long,
        help: "PostgreSQL instead of the embedded store: postgres://user:password@host:port/db[?sslmode=require] (env HERALD_DATABASE_URL).")
    var database: String?

    @Option(name: .customLong("keys-database"), help: "PostgreSQL database of the key store (env HERALD_KEYS_DATABASE_URL; default: --database's name + _keys).")
    var keysDatabase: String?

    @Option(name: .customLong("master-key-file"), help: "With --database: the cluster's master key, base64 (env HERALD_MASTER_KEY_FILE; or HERALD_MASTER_KEY).")
    var masterKeyFile: String?

    var dataDirectory: String {
        data ?? ProcessInfo.processInfo.environment["HERALD_DATA"] ?? "./herald-data"
    }

    /// The PostgreSQL URL, when the store is PostgreSQL.
    func databaseURL() throws -> PostgresURL? {
        guard let text = database ?? ProcessInfo.processInfo.environment["HERALD_DATABASE_URL"] else { return nil }
        do { return try PostgresURL(text) } catch { throw ValidationError("--database: \(error)") }
    }

    func keysDatabaseURL() throws -> PostgresURL? {
        guard let text = keysDatabase ?? ProcessInfo.processInfo.environment["HERALD_KEYS_DATABASE_URL"] else { return nil }
        do { return try PostgresURL(text) } catch { throw ValidationError("--keys-database: \(error)") }
    }

    var masterKeyFilePath: String? { masterKeyFile ?? ProcessInfo.processInfo.environment["HERALD_MASTER_KEY_FILE"] }

    func validate() throws {
        if data != nil, database != nil { throw ValidationError("--data and --database exclude each other.") }
        _ = try databaseURL()
        _ = try keysDatabaseURL()
    }

    /// Opens the store: PostgreSQL with `--database`, otherwise the embedded store.
    /// - Parameter creating: whether a missing data directory is made (directory, database and master
    ///   key): only for the commands documented to (`serve`, `apps create`); the others refuse it.
    func openStore(creating: Bool = false) async throws -> any Store {
        let environment = ProcessInfo.processInfo.environment
        if let url = try databaseURL() {
            let key = try SharedMasterKey.load(environmentKey: environment["HERALD_MASTER_KEY"], file: masterKeyFilePath)
            return try await PostgresStore.open(url: url, keysURL: try keysDatabaseURL(), masterKeys: [key], maximumConnections: 4)
        }
        let directory = DataDirectory(path: dataDirectory)
        if !creating { try directory.requireExisting() }
        return try directory.openStore(environmentKey: environment["HERALD_MASTER_KEY"])
    }

    /// For commands that only the embedded store has (its file backup, its key file rotation).
    func requireEmbedded(_ command: String, instead: String) throws {
        if try databaseURL() != nil { throw ValidationError("\(command) works on the embedded store (--data); on PostgreSQL \(instead).") }
    }

    /// Records an admin command on the audit trail (the operator's chain unless it concerns one app).
    static func audit(_ store: any Store, _ action: String, target: String, chain: AuditChain = .operator) async throws {
        try await store.recordAudit(NewAuditEvent(chain: chain, actor: "operator:cli", action: action, target: target))
    }
}
