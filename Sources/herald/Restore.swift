import ArgumentParser
import Foundation
import HeraldStore

/// `herald restore --data DIR --from FILE`: puts a backup copy in the place of the embedded database.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replace the embedded database with a copy made by `herald backup` (the server must be stopped).",
        discussion: """
            Checks the copy (an SQLite file whose integrity check passes, with Herald's tables), refuses while a server
            or another command holds DIR, removes DIR/herald.sqlite-wal and DIR/herald.sqlite-shm (an old WAL replayed
            over the restored file would undo the restore), puts the copy in place with one rename, then opens the store
            and verifies its audit trail. Keeps DIR/master.key and DIR/keys.sqlite: users erased since the copy stay
            erased. Interrupted, it is run again.
            """)

    @OptionGroup var store: StoreOptions
    @Option(name: .long, help: "The backup file to restore.") var from: String
    @Flag(name: .long, help: "Print {\"restored\": ..., \"apps\": N, \"auditEntries\": N}.") var json = false

    func run() async throws {
        try store.requireEmbedded("herald restore", instead: "restore both databases with pg_restore (docs/operations.md)")
        let directory = DataDirectory(path: store.dataDirectory)
        try directory.requireExisting()
        let lock = try directory.lock()
        defer { withExtendedLifetime(lock) {} }
        do {
            try SQLiteBackup.restore(from, to: directory.databaseURL.path)
        } catch let failure as SQLiteBackup.Failure {
            FileHandle.standardError.write(Data("herald restore: \(failure.description)\n".utf8))
            throw ExitCode.failure
        }
        let opened = try directory.openStore(environmentKey: ProcessInfo.processInfo.environment["HERALD_MASTER_KEY"])
        let (apps, audit) = try await run(opened) { store in
            let apps = try await store.apps().count
            let audit = try await store.verifyAudit()
            try await StoreOptions.audit(store, "restore", target: from)
            return (apps, audit.checked)
        }
        if json {
            struct Output: Encodable {
                var restored: String
                var apps: Int
                var auditEntries: Int
            }
            print(try JSONOutput.line(Output(restored: from, apps: apps, auditEntries: audit)))
        } else {
            print("restored \(from) into \(directory.databaseURL.path): \(apps) apps, audit trail intact (\(audit) entries)")
        }
    }
}
