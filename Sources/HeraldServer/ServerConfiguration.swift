public import Foundation
public import HeraldStore
public import Logging

/// Everything `herald serve` can be told. Values come from flags or environment variables (see the
/// `herald serve --help` text); tests build one directly.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "./herald-data"
    /// `HERALD_MASTER_KEY`, when set, instead of `DIR/master.key`.
    public var masterKeyBase64: String?
    /// `--database`: PostgreSQL instead of the embedded store; several nodes on one database form a cluster.
    public var database: PostgresURL?
    /// `--keys-database`: the key store's database (default: the content database's name with `_keys`).
    public var keysDatabase: PostgresURL?
    /// `--master-key-file`: with `--database`, where the cluster's shared master key is (unless
    /// `HERALD_MASTER_KEY` holds it).
    public var masterKeyFile: String?
    /// `--database-connections`: this node's pool to the content database.
    public var databaseConnections = 20
    public var durability: Durability = .full
    public var realtime = RealtimeLimits()
    public var logLevel: Logger.Level = .info
    /// How long shutdown waits for WebSockets to close before stopping the HTTP server anyway.
    public var shutdownGrace: Duration = .seconds(10)
    /// `--drain-delay`: on SIGTERM, how long the node answers 503 on `/ready` while still serving,
    /// before it closes its sockets and stops (a load balancer's probe interval).
    public var drainDelay: Duration = .zero
    /// Lets webhooks (and Web Push endpoints) reach loopback and private addresses, and plain http there.
    public var allowsPrivateTargets = false
    /// `--apns-url`: replaces Apple's hosts (both environments), for regional or test servers.
    public var apnsURL: URL?
    /// `--fcm-url`: replaces `https://fcm.googleapis.com`.
    public var fcmURL: URL?
    /// `--fcm-token-url`: replaces the service account's `token_uri`.
    public var fcmTokenURL: URL?
    /// `--extra-ca-file`: a PEM file of more trusted roots for outgoing HTTPS (providers, webhooks).
    public var extraCAFile: String?
    /// `--tls-cert` and `--tls-key`: PEM files; with both, the server speaks HTTPS and WSS only (TLS 1.2+).
    public var tlsCertificateFile: String?
    public var tlsKeyFile: String?
    /// Requests per second per API key (burst twice that): `--platform-rate`.
    public var platformRate: Double = 5_000
    /// Requests per second per user token (burst three times that): `--user-rate`.
    public var userRate: Double = 20
    /// Requests in flight at once, for one app's platform callers and, separately, for its customers:
    /// `--app-concurrency`.
    public var appConcurrency = 256
    /// Requests of one customer in flight at once: `--user-concurrency`.
    public var userConcurrency = 16
    /// Time a request body has to arrive once its headers did (408 after): a body trickled in byte by
    /// byte holds a concurrency slot only that long.
    public var requestBodyTimeout: Duration = .seconds(10)
    /// Time an HTTP connection may stay open without a request in progress before it is closed: idle
    /// keep-alive connections otherwise hold a file descriptor each for ever.
    public var httpIdleTimeout: Duration = .seconds(60)
    /// Failed authentications per client address: a burst, then a few per minute; beyond, 429.
    public var credentialFailures = CredentialFailureLimits()
    /// `--client-address-header`: the header the operator's proxy sets to the client's address (such as
    /// `X-Forwarded-For`; its last entry counts). Unset, the TCP peer is the client.
    public var clientAddressHeader: String?
    /// How often old content is looked for (`retention.messageDays`).
    public var retentionInterval: Duration = .seconds(600)
    /// How often the push worker looks for due pushes.
    public var pushInterval: Duration = .milliseconds(500)
    /// Whether the background workers (scheduler, outbox) run with the server. Tests that drive them
    /// step by step turn this off.
    public var runsWorkers = true
    /// A span per request (Hummingbird's `TracingMiddleware`, on the process's tracer) with child spans
    /// for its commit and its deliveries. Off by default: `herald serve --otlp-traces-endpoint` turns it
    /// on after bootstrapping a tracer that exports OTLP.
    public var tracesRequests = false
    /// How often scheduled sends, resumed fan-outs and held items are looked for.
    public var schedulerInterval: Duration = .seconds(1)
    /// The clock used for token expiry and timestamps.
    public var now: @Sendable () -> Date = { Date() }

    public init() {}
}
