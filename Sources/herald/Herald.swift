import ArgumentParser
import Foundation
import HeraldCore
import HeraldStore

@main
struct Herald: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald",
        abstract: "Herald: secure business messaging server.",
        discussion: "Run `herald serve` to start the server; `herald apps create --name NAME` to create an app and its API key.",
        version: HeraldVersion.current,
        subcommands: [Serve.self, Apps.self, Backup.self, Restore.self, Keys.self, Audit.self, StoreCommand.self]
    )

    /// Runs the command, with the exit codes of the public contract: 0 success, 1 runtime failure,
    /// 2 bad usage. (ArgumentParser itself exits 64, EX_USAGE, for bad usage.)
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            // An SQLite error from a command says what it means for the operator.
            exit(withError: SQLiteFailure.explaining(error, directory: "the data directory") ?? error)
        }
    }
}
