import ArgumentParser
import Foundation
import HeraldStore

/// `--data DIR` / `--database URL`, shared by every command that opens the store.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory of the embedded store (env HERALD_DATA; default ./herald-data).")
    var data: String?

    @Option(name: .long, help: "PostgreSQL URL instead of the embedded store (env HERALD_DATABASE_URL). Not available in this version.")
    var database: String?

    var dataDirectory: String {
        data ?? ProcessInfo.processInfo.environment["HERALD_DATA"] ?? "./herald-data"
    }

    func validate() throws {
        if database ?? ProcessInfo.processInfo.environment["HERALD_DATABASE_URL"] != nil {
            throw ValidationError("--database (PostgreSQL) is not available in this version of Herald; use --data DIR.")
        }
    }

    /// Opens the embedded store, creating the directory, database and master key if needed.
    func openStore() throws -> SQLiteStore {
        let directory = DataDirectory(path: dataDirectory)
        let prepared = try directory.prepare(environmentKey: ProcessInfo.processInfo.environment["HERALD_MASTER_KEY"])
        return try SQLiteStore(path: directory.databaseURL.path, masterKey: prepared.masterKey)
    }
}
