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
            herald.sqlite-shm), keep the same master key, start the server.
            """)

    @OptionGroup var store: StoreOptions
    @Option(name: .long, help: "The file to create.") var out: String
    @Flag(name: .long, help: "Print {\"out\": ..., \"bytes\": N}.") var json = false

    func run() async throws {
        let source = DataDirectory(path: store.dataDirectory).databaseURL.path
        do {
            let summary = try SQLiteBackup.copy(from: source, to: out)
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
