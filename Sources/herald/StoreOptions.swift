import ArgumentParser
import Foundation
import HeraldCore
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
        try DataDirectory(path: dataDirectory).openStore(environmentKey: ProcessInfo.processInfo.environment["HERALD_MASTER_KEY"])
    }

    /// Records an admin command on the audit trail (the operator's chain unless it concerns one app).
    static func audit(_ store: SQLiteStore, _ action: String, target: String, chain: AuditChain = .operator) async throws {
        try await store.recordAudit(NewAuditEvent(chain: chain, actor: "operator:cli", action: action, target: target))
    }
}
