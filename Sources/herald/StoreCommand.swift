import ArgumentParser
import Foundation
import HeraldCore
import HeraldStore

/// `herald store copy --from DIR --to URL`: moves an embedded store into PostgreSQL.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Move the store between backends.", subcommands: [Copy.self])

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy an embedded store (apps, users, channels, messages with their seqs, inbox, keys, audit) into PostgreSQL, verifying counts.",
            discussion: """
                Stop the server on DIR first (the copy takes the directory's lock). The target databases (URL's, and its key
                database, by default URL's name + _keys) must be empty; they are created when the user may create databases.
                Nothing is decrypted: sealed rows and wrapped keys are copied as they are, so the PostgreSQL nodes must run with
                DIR's master key (HERALD_MASTER_KEY=$(cat DIR/master.key), or --master-key-file DIR/master.key).
                """)

        @Option(name: .long, help: "Data directory of the embedded store.") var from: String
        @Option(name: .long, help: "postgres://user:password@host:port/database to copy into.") var to: String
        @Option(name: .customLong("keys-database"), help: "The key store's database (default: --to's name + _keys).") var keysDatabase: String?
        @Flag(name: .long, help: "Print {\"tables\": {...}, \"keys\": {...}}.") var json = false

        func run() async throws {
            let target: PostgresURL
            let keysTarget: PostgresURL?
            do {
                target = try PostgresURL(to)
                keysTarget = try keysDatabase.map { try PostgresURL($0) }
            } catch {
                throw ValidationError("\(error)")
            }
            let directory = DataDirectory(path: from)
            guard FileManager.default.fileExists(atPath: directory.databaseURL.path) else {
                throw ValidationError("\(directory.databaseURL.path) does not exist: --from names a data directory")
            }
            let lock = try directory.lock()
            defer { withExtendedLifetime(lock) {} }
            let prepared = try directory.prepare(environmentKey: ProcessInfo.processInfo.environment["HERALD_MASTER_KEY"])
            let report = try await StoreCopy.copy(
                contentPath: directory.databaseURL.path, keysPath: directory.keysURL.path, to: target, keysURL: keysTarget)
            // Opened once with the directory's master key: proves the copied keys open, and records the copy.
            let store = try await PostgresStore.open(url: target, keysURL: keysTarget, masterKeys: [prepared.masterKey], maximumConnections: 2)
            try await StoreOptions.audit(store, "store.copy", target: "\(directory.url.path) -> \(target)")
            try await store.close()
            if json {
                print(try JSONOutput.line(report))
            } else {
                for (table, rows) in report.tables.sorted(by: { $0.key < $1.key }) where rows > 0 { print("\(table): \(rows) rows") }
                print("keys: \(report.keys["dataKey"] ?? 0) data keys of \(report.keys["appKey"] ?? 0) apps")
                print("copied \(directory.url.path) to \(target); every table's count matches.")
                print("Run the nodes with this directory's master key: HERALD_MASTER_KEY=$(cat \(directory.masterKeyURL.path))")
            }
        }
    }
}
