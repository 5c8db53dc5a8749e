import ArgumentParser
import Foundation
import HTTPTypes
import HeraldServer
import HeraldStore
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Herald server.",
        discussion: """
            Every option also reads an environment variable: HERALD_DATA, HERALD_DATABASE_URL, HERALD_KEYS_DATABASE_URL,
            HERALD_MASTER_KEY_FILE, HERALD_DATABASE_CONNECTIONS, HERALD_HOST, HERALD_PORT,
            HERALD_DURABILITY, HERALD_LOG_LEVEL, HERALD_ALLOW_PRIVATE_TARGETS, HERALD_APNS_URL, HERALD_FCM_URL,
            HERALD_FCM_TOKEN_URL, HERALD_EXTRA_CA_FILE, HERALD_TLS_CERT, HERALD_TLS_KEY,
            HERALD_PLATFORM_RATE, HERALD_USER_RATE, HERALD_APP_CONCURRENCY, HERALD_OTLP_TRACES_ENDPOINT. The master key is read from HERALD_MASTER_KEY (32 bytes, base64) when set,
            otherwise from DIR/master.key, which the first start creates (mode 0600).
            With --database (PostgreSQL) several servers on one database form a cluster (docs/operations.md); every node
            needs the same master key, from HERALD_MASTER_KEY or --master-key-file, and a missing key is an error.
            SIGTERM or SIGINT stop the server gracefully: WebSockets are closed with 1001, in-flight requests finish,
            pending writes are committed.
            """
    )

    @OptionGroup var store: StoreOptions

    @Option(name: .customLong("database-connections"), help: "With --database: this node's connections to PostgreSQL (env HERALD_DATABASE_CONNECTIONS; default 20).")
    var databaseConnections: Int?

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

    @Option(name: .long, help: "text, or json: one JSON object per line for a log pipeline (env HERALD_LOG_FORMAT; default text).")
    var logFormat: String?

    @Option(
        name: .customLong("otlp-traces-endpoint"),
        help: "Send traces by OTLP/HTTP to this URL, such as http://127.0.0.1:4318/v1/traces: a span per request with its commit and deliveries; off when unset; OTEL_* variables tune the rest (env HERALD_OTLP_TRACES_ENDPOINT).")
    var otlpTracesEndpoint: String?

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve HTTPS and WSS only, TLS 1.2 or later (env HERALD_TLS_CERT; needs --tls-key).")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert (env HERALD_TLS_KEY).")
    var tlsKey: String?

    @Option(name: .customLong("platform-rate"), help: "Requests per second per API key, bursts of twice that (env HERALD_PLATFORM_RATE; default 5000).")
    var platformRate: Double?

    @Option(name: .customLong("user-rate"), help: "HTTP requests per second per user token, bursts of three times that (env HERALD_USER_RATE; default 20).")
    var userRate: Double?

    @Option(
        name: .customLong("app-concurrency"),
        help: "Requests in flight at once for one app's platform callers, and separately for its customers; more are refused with 429 (env HERALD_APP_CONCURRENCY; default 256).")
    var appConcurrency: Int?

    @Option(name: .customLong("user-concurrency"), help: "Requests of one customer in flight at once; more are refused with 429 (env HERALD_USER_CONCURRENCY; default 16).")
    var userConcurrency: Int?

    @Option(name: .customLong("user-connections"), help: "Realtime sockets one customer may hold open on this node; the next is closed with 4429 (env HERALD_USER_CONNECTIONS; default 10).")
    var userConnections: Int?

    @Option(
        name: .customLong("drain-delay"),
        help: "Seconds the node keeps serving after SIGTERM while /ready answers 503, so load balancers take it out of rotation first (env HERALD_DRAIN_DELAY; default 0; behind a load balancer, its probe interval).")
    var drainDelay: Double?

    @Option(
        name: .customLong("auth-failure-limit"),
        help: "Failed authentications one client address may make at once, and again each minute, before its credentials get 429 unread (env HERALD_AUTH_FAILURE_LIMIT; default 20).")
    var authFailureLimit: Int?

    @Option(
        name: .customLong("client-address-header"),
        help: "Behind a reverse proxy: the header it sets to the client's address, such as X-Forwarded-For (its last entry counts); limits on failed authentication then apply per client rather than to the proxy (env HERALD_CLIENT_ADDRESS_HEADER).")
    var clientAddressHeader: String?

    @Option(name: .customLong("apns-url"), help: "APNs base URL instead of Apple's production and sandbox hosts, for regional or test servers (env HERALD_APNS_URL).")
    var apnsURL: String?

    @Option(name: .customLong("fcm-url"), help: "FCM base URL instead of https://fcm.googleapis.com (env HERALD_FCM_URL).")
    var fcmURL: String?

    @Option(name: .customLong("fcm-token-url"), help: "OAuth 2.0 token endpoint instead of the service account's token_uri (env HERALD_FCM_TOKEN_URL).")
    var fcmTokenURL: String?

    @Option(name: .customLong("test-clock-offset-file"), help: .hidden)
    var testClockOffsetFile: String?

    @Option(name: .customLong("extra-ca-file"), help: "PEM file of more trusted root certificates for outgoing HTTPS: push providers and webhooks (env HERALD_EXTRA_CA_FILE).")
    var extraCAFile: String?

    /// Provider URLs must be https: the providers' tokens and the pushes travel over them.
    static func httpsURL(_ text: String?, flag: String) throws -> URL? {
        guard let text else { return nil }
        guard let url = URL(string: text), url.scheme?.lowercased() == "https", url.host != nil else {
            throw ValidationError("\(flag) must be an https URL.")
        }
        return url
    }

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
        let format = logFormat ?? environment["HERALD_LOG_FORMAT"] ?? "text"
        guard ["text", "json"].contains(format) else { throw ValidationError("--log-format must be text or json.") }
        configuration.allowsPrivateTargets = allowPrivateTargets || ["1", "true", "yes"].contains(environment["HERALD_ALLOW_PRIVATE_TARGETS"]?.lowercased() ?? "")
        configuration.masterKeyBase64 = environment["HERALD_MASTER_KEY"]
        configuration.database = try store.databaseURL()
        configuration.keysDatabase = try store.keysDatabaseURL()
        configuration.masterKeyFile = store.masterKeyFilePath
        if let connections = databaseConnections ?? environment["HERALD_DATABASE_CONNECTIONS"].flatMap(Int.init) {
            guard (2...1_000).contains(connections) else { throw ValidationError("--database-connections must be between 2 and 1000.") }
            configuration.databaseConnections = connections
        }
        configuration.apnsURL = try Self.httpsURL(apnsURL ?? environment["HERALD_APNS_URL"], flag: "--apns-url")
        configuration.fcmURL = try Self.httpsURL(fcmURL ?? environment["HERALD_FCM_URL"], flag: "--fcm-url")
        configuration.fcmTokenURL = try Self.httpsURL(fcmTokenURL ?? environment["HERALD_FCM_TOKEN_URL"], flag: "--fcm-token-url")
        if let rate = platformRate ?? environment["HERALD_PLATFORM_RATE"].flatMap(Double.init) {
            guard rate > 0 else { throw ValidationError("--platform-rate must be positive.") }
            configuration.platformRate = rate
        }
        if let rate = userRate ?? environment["HERALD_USER_RATE"].flatMap(Double.init) {
            guard rate > 0 else { throw ValidationError("--user-rate must be positive.") }
            configuration.userRate = rate
        }
        if let limit = appConcurrency ?? environment["HERALD_APP_CONCURRENCY"].flatMap(Int.init) {
            guard limit > 0 else { throw ValidationError("--app-concurrency must be positive.") }
            configuration.appConcurrency = limit
        }
        if let limit = userConcurrency ?? environment["HERALD_USER_CONCURRENCY"].flatMap(Int.init) {
            guard limit > 0 else { throw ValidationError("--user-concurrency must be positive.") }
            configuration.userConcurrency = limit
        }
        if let limit = userConnections ?? environment["HERALD_USER_CONNECTIONS"].flatMap(Int.init) {
            guard limit > 0 else { throw ValidationError("--user-connections must be positive.") }
            configuration.realtime.connectionsPerUser = limit
        }
        if let delay = drainDelay ?? environment["HERALD_DRAIN_DELAY"].flatMap(Double.init) {
            guard (0...300).contains(delay) else { throw ValidationError("--drain-delay must be between 0 and 300 seconds.") }
            configuration.drainDelay = .milliseconds(Int64(delay * 1000))
        }
        if let limit = authFailureLimit ?? environment["HERALD_AUTH_FAILURE_LIMIT"].flatMap(Int.init) {
            guard limit > 0 else { throw ValidationError("--auth-failure-limit must be positive.") }
            configuration.credentialFailures.burst = Double(limit)
            configuration.credentialFailures.perMinute = Double(limit)
        }
        if let header = clientAddressHeader ?? environment["HERALD_CLIENT_ADDRESS_HEADER"] {
            guard HTTPField.Name(header) != nil else { throw ValidationError("--client-address-header must be an HTTP header name, such as X-Forwarded-For.") }
            configuration.clientAddressHeader = header
        }
        let certificate = tlsCertificate ?? environment["HERALD_TLS_CERT"]
        let key = tlsKey ?? environment["HERALD_TLS_KEY"]
        guard (certificate == nil) == (key == nil) else { throw ValidationError("--tls-cert and --tls-key go together.") }
        for file in [certificate, key].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: file) {
            throw ValidationError("\(file) cannot be read.")
        }
        configuration.tlsCertificateFile = certificate
        configuration.tlsKeyFile = key
        if let file = extraCAFile ?? environment["HERALD_EXTRA_CA_FILE"] {
            guard FileManager.default.isReadableFile(atPath: file) else { throw ValidationError("--extra-ca-file \(file) cannot be read.") }
            configuration.extraCAFile = file
        }
        let traceEndpoint = otlpTracesEndpoint ?? environment["HERALD_OTLP_TRACES_ENDPOINT"]
        if let traceEndpoint, TraceExport.validated(traceEndpoint) == nil {
            throw ValidationError("--otlp-traces-endpoint must be an http or https URL, such as http://127.0.0.1:4318/v1/traces.")
        }
        configuration.tracesRequests = traceEndpoint != nil
        // Tests of the real binary move its time forward (`ClockOffsetFile`); hidden from the help.
        var clockFollower: Task<Void, Never>?
        if let testClockOffsetFile {
            let clock = try ClockOffsetFile(path: testClockOffsetFile)
            configuration.now = clock.now
            clockFollower = Task { await clock.follow() }
        }
        defer { clockFollower?.cancel() }
        let level = configuration.logLevel
        LoggingSystem.bootstrap(
            { label, provider in
                if format == "json" {
                    var handler = JSONLogHandler(label: label, level: level)
                    handler.metadataProvider = provider
                    return handler
                }
                return TextLogHandler(label: label, level: level, metadataProvider: provider)
            }, metadataProvider: traceEndpoint == nil ? nil : TraceExport.logMetadata)
        let logger = Logger(label: "herald")
        do {
            let observability = try traceEndpoint.map { [try TraceExport.bootstrap(endpoint: $0, logger: logger)] } ?? []
            try await HeraldService.run(configuration: configuration, observability: observability, logger: logger)
        } catch let error as DataDirectory.Failure {
            logger.critical("\(error.description)")
            throw ExitCode.failure
        } catch let error as SharedMasterKey.Missing {
            logger.critical("\(error.description)")
            throw ExitCode.failure
        } catch let error as KeyRing.Failure {
            logger.critical("\(error.description)")
            throw ExitCode.failure
        } catch let error as PostgresProbe.Failure {
            logger.critical("\(error.description)")
            throw ExitCode.failure
        } catch let error as SQLiteFailure {
            logger.critical("\(error.description)")
            throw ExitCode.failure
        } catch let error as PostgresURL.Invalid {
            logger.critical("\(error.description)")
            throw ExitCode.failure
        } catch {
            logger.critical("\(Self.explain(error, configuration: configuration))")
            throw ExitCode.failure
        }
    }

    /// One sentence, cause and fix, for a failure the typed catches above do not know.
    static func explain(_ error: any Error, configuration: ServerConfiguration) -> String {
        if let explained = SQLiteFailure.explaining(error, directory: configuration.dataDirectory) { return explained.description }
        let text = String(describing: error)
        if text.contains("Address already in use") {
            return "\(configuration.host):\(configuration.port) is in use by another process: stop it, or choose another port with --port"
        }
        if text.contains("Cannot assign requested address") {
            return "\(configuration.host) is not an address of this machine: choose one of its addresses with --host (0.0.0.0 for all)"
        }
        return text
    }
}
