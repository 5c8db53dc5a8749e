import ArgumentParser
import Foundation
import HeraldServer
import HeraldStore
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Herald server.",
        discussion: """
            Every option also reads an environment variable: HERALD_DATA, HERALD_DATABASE_URL, HERALD_HOST, HERALD_PORT,
            HERALD_DURABILITY, HERALD_LOG_LEVEL, HERALD_ALLOW_PRIVATE_TARGETS. The master key is read from HERALD_MASTER_KEY (32 bytes, base64) when set,
            otherwise from DIR/master.key, which the first start creates (mode 0600).
            SIGTERM or SIGINT stop the server gracefully: WebSockets are closed with 1001, in-flight requests finish,
            pending writes are committed.
            """
    )

    @OptionGroup var store: StoreOptions

    @Option(name: .long, help: "Address to listen on (env HERALD_HOST; default 127.0.0.1).")
    var host: String?

    @Option(name: .long, help: "Port to listen on (env HERALD_PORT; default 8080).")
    var port: Int?

    @Option(name: .long, help: "full (fsync every commit: survives power loss, the default) or normal (survives a crash of the process only) (env HERALD_DURABILITY).")
    var durability: String?

    @Flag(name: .long, help: "Let webhooks and Web Push endpoints point at loopback or private addresses, and at plain http there; refused by default against SSRF (env HERALD_ALLOW_PRIVATE_TARGETS=1).")
    var allowPrivateTargets = false

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical (env HERALD_LOG_LEVEL; default info).")
    var logLevel: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var configuration = ServerConfiguration()
        configuration.dataDirectory = store.dataDirectory
        configuration.host = host ?? environment["HERALD_HOST"] ?? configuration.host
        if let port = port ?? environment["HERALD_PORT"].flatMap(Int.init) {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535.") }
            configuration.port = port
        }
        if let text = durability ?? environment["HERALD_DURABILITY"] {
            guard let value = Durability(rawValue: text) else { throw ValidationError("--durability must be full or normal.") }
            configuration.durability = value
        }
        if let text = logLevel ?? environment["HERALD_LOG_LEVEL"] {
            guard let level = Logger.Level(rawValue: text) else { throw ValidationError("unknown --log-level \(text).") }
            configuration.logLevel = level
        }
        configuration.allowsPrivateTargets = allowPrivateTargets || ["1", "true", "yes"].contains(environment["HERALD_ALLOW_PRIVATE_TARGETS"]?.lowercased() ?? "")
        configuration.masterKeyBase64 = environment["HERALD_MASTER_KEY"]
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "herald")
        do {
            try await HeraldService.run(configuration: configuration, logger: logger)
        } catch let error as DataDirectory.Failure {
            logger.critical("\(error.description)")
            throw ExitCode.failure
        }
    }
}
