import ArgumentParser
import Foundation
import HeraldStore

/// `herald backup --data DIR --out FILE`: a consistent online copy of the embedded store.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the embedded database to FILE while the server runs (SQLite's online backup).",
        discussion: """
            The copy is consistent as of one moment and never overwrites a file. It holds content and secrets sealed
            with the master key, which it does not contain: keep DIR/master.key (or HERALD_MASTER_KEY) apart from it.
            To restore: stop the server, put the copy at DIR/herald.sqlite (removing any herald.sqlite-wal and
            herald.sqlite-shm), keep the same master key and the current DIR/keys.sqlite, start the server.

            The key store (DIR/keys.sqlite) is not in the copy, on purpose: an erased user's key is destroyed there,
            so their content in every older database copy stays unreadable. --keys-out copies the key store too, for
            a disaster copy; keep such copies briefly and apart, since one taken before an erasure still holds that
            user's key.
            """)

    @OptionGroup var store: StoreOptions
    @Option(name: .long, help: "The file to create.") var out: String
    @Option(name: .customLong("keys-out"), help: "Also copy the key store to this file (see above).") var keysOut: String?
    @Flag(name: .long, help: "Print {\"out\": ..., \"bytes\": N}.") var json = false

    func run() async throws {
        try store.requireEmbedded("herald backup", instead: "back up both databases with pg_dump (docs/operations.md)")
        let directory = DataDirectory(path: store.dataDirectory)
        try directory.requireExisting()
        let source = directory.databaseURL.path
        do {
            let summary = try SQLiteBackup.copy(from: source, to: out)
            let opened = try directory.openStore(environmentKey: ProcessInfo.processInfo.environment["HERALD_MASTER_KEY"])
            try await run(opened) { store in
                if let keysOut {
                    guard !FileManager.default.fileExists(atPath: keysOut) else { throw SQLiteBackup.Failure.destinationExists(keysOut) }
                    try opened.keys.backup(to: keysOut)
                }
                try await StoreOptions.audit(store, "backup", target: out + (keysOut.map { " + keys " + $0 } ?? ""))
            }
            if json {
                struct Output: Encodable {
                    var out: String
                    var bytes: Int
                }
                print(try JSONOutput.line(Output(out: out, bytes: summary.bytes)))
            } else {
                print("backed up \(source) to \(out) (\(summary.bytes) bytes)")
            }
        } catch let failure as SQLiteBackup.Failure {
            FileHandle.standardError.write(Data("herald backup: \(failure.description)\n".utf8))
            throw ExitCode.failure
        }
    }
}
