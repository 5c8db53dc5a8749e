import ArgumentParser
import Foundation
import HeraldStore

/// `herald restore --data DIR --from FILE`: puts a backup copy in the place of the embedded database.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replace the embedded database with a copy made by `herald backup` (the server must be stopped).",
        discussion: """
            Refuses while a server or another restore holds DIR. Checks the copy (an SQLite file whose integrity check
            passes, with Herald's tables) and, before anything in place changes, that it opens with DIR's key store: every
            app's key is there and its audit chains verify (a copy from another data directory is refused). Then moves
            DIR/herald.sqlite and its -wal and -shm aside (herald.sqlite.before-restore-TIME: an old WAL left beside the
            restored file would be replayed over it), renames the copy into place, opens the store and verifies it.
            Keeps DIR/master.key and DIR/keys.sqlite: users erased since the copy stay erased. Works after the loss of
            herald.sqlite itself, as long as the key store and the master key are there. Run it as the service's user
            (sudo -u herald); run as root, it gives the restored file to the owner of DIR.
            """)

    @OptionGroup var store: StoreOptions
    @Option(name: .long, help: "The backup file to restore.") var from: String
    @Flag(name: .long, help: "Print {\"restored\": ..., \"apps\": N, \"auditEntries\": N}.") var json = false

    func run() async throws {
        try store.requireEmbedded("herald restore", instead: "restore both databases with pg_restore (docs/operations.md)")
        let directory = DataDirectory(path: store.dataDirectory)
        let environmentKey = ProcessInfo.processInfo.environment["HERALD_MASTER_KEY"]
        try directory.requireKeys(environmentKey: environmentKey)
        let lock = try directory.lock()
        defer { withExtendedLifetime(lock) {} }
        let prepared = try directory.prepare(environmentKey: environmentKey)
        let restoration: SQLiteBackup.Restoration
        do {
            let keys = try directory.openKeyRing(prepared)
            defer { try? keys.close() }
            restoration = try SQLiteBackup.restore(from, to: directory.databaseURL.path, keys: keys)
        } catch let failure as SQLiteBackup.Failure {
            FileHandle.standardError.write(Data("herald restore: \(failure.description)\n".utf8))
            throw ExitCode.failure
        }
        let opened = try directory.openStore(prepared: prepared, lock: lock)
        let (apps, audit) = try await run(opened) { store in
            let apps = try await store.apps().count
            let audit = try await store.verifyAudit()
            try await StoreOptions.audit(store, "restore", target: from)
            return (apps, audit.checked)
        }
        if json {
            struct Output: Encodable {
                var restored: String
                var previous: String?
                var apps: Int
                var auditEntries: Int
            }
            print(try JSONOutput.line(Output(restored: from, previous: restoration.previous, apps: apps, auditEntries: audit)))
        } else {
            print("restored \(from) into \(directory.databaseURL.path): \(apps) apps, audit trail intact (\(audit) entries)")
            if let previous = restoration.previous { print("the database it replaced is kept at \(previous) (with its -wal and -shm, if any)") }
        }
    }
}
