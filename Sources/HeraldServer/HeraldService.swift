import Foundation
import HeraldStore
public import Logging
import Prometheus
public import ServiceLifecycle

/// `herald serve`: opens the store (the embedded SQLite of a data directory, or PostgreSQL with
/// `--database`), runs the HTTP and realtime server until SIGTERM or SIGINT, then shuts down in order:
/// WebSockets closed with 1001, in-flight requests finished, the store's writer drained and closed.
public enum HeraldService {
    /// - Parameter observability: services that export telemetry (the OTLP trace exporter): started
    ///   first and stopped last, so the spans of the shutdown itself are still sent.
    public static func run(configuration: ServerConfiguration, observability: [any Service] = [], logger: Logger) async throws {
        if let database = configuration.database {
            try await runClusterNode(configuration: configuration, database: database, observability: observability, logger: logger)
        } else {
            try await runEmbedded(configuration: configuration, observability: observability, logger: logger)
        }
    }

    private static func runEmbedded(configuration: ServerConfiguration, observability: [any Service], logger: Logger) async throws {
        let directory = DataDirectory(path: configuration.dataDirectory)
        let prepared = try directory.prepare(environmentKey: configuration.masterKeyBase64)
        let lock = try directory.lock()
        let hub = Hub(logger: logger)
        let metrics = PrometheusCollectorRegistry()
        let store = try directory.openStore(
            prepared: prepared, durability: configuration.durability, lock: lock, commitMeter: CommitMetrics(registry: metrics).meter, now: configuration.now,
            observer: hub.deliver)
        if prepared.createdDirectory { logger.notice("created data directory", metadata: ["path": "\(directory.url.path)"]) }
        if prepared.createdMasterKey {
            logger.notice("created master key (keep it safe: without it the data cannot be read)", metadata: ["path": "\(directory.masterKeyURL.path)"])
        }
        if prepared.createdDatabase { logger.notice("created database", metadata: ["path": "\(directory.databaseURL.path)"]) }
        logger.notice("herald starting", metadata: ["data": "\(directory.url.path)", "durability": "\(configuration.durability)"])
        try await serve(configuration: configuration, store: store, hub: hub, readiness: Readiness(), relay: nil, metrics: metrics, observability: observability, logger: logger)
        try await store.close()
        withExtendedLifetime(lock) {}
        logger.notice("herald stopped")
    }

    /// One node of a cluster: PostgreSQL for the store, its LISTEN/NOTIFY feed for the realtime events
    /// of the other nodes. The node takes connections only once it hears the others.
    private static func runClusterNode(configuration: ServerConfiguration, database: PostgresURL, observability: [any Service], logger: Logger) async throws {
        let masterKey = try SharedMasterKey.load(environmentKey: configuration.masterKeyBase64, file: configuration.masterKeyFile)
        let hub = Hub(logger: logger)
        let metrics = PrometheusCollectorRegistry()
        // No commit observer: every commit, this node's own too, is delivered from the feed (`ClusterRelay`).
        let store = try await PostgresStore.open(
            url: database, keysURL: configuration.keysDatabase, masterKeys: [masterKey], maximumConnections: configuration.databaseConnections,
            commitMeter: CommitMetrics(registry: metrics).meter, now: configuration.now)
        let readiness = Readiness()
        let relay = ClusterRelay(store: store, hub: hub, readiness: readiness, now: configuration.now, logger: logger)
        logger.notice("herald starting", metadata: ["database": "\(database)", "node": "\(store.nodeID)"])
        do {
            try await serve(configuration: configuration, store: store, hub: hub, readiness: readiness, relay: relay, metrics: metrics, observability: observability, logger: logger)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        logger.notice("herald stopped")
    }

    private static func serve(
        configuration: ServerConfiguration, store: any Store, hub: Hub, readiness: Readiness, relay: ClusterRelay?, metrics: PrometheusCollectorRegistry,
        observability: [any Service], logger: Logger
    ) async throws {
        let app = try buildApplication(configuration: configuration, store: store, hub: hub, readiness: readiness, metrics: metrics, logger: logger)
        // A group stops its services in reverse order: the exporters go last.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = observability.map { .init(service: $0) } + [
            .init(service: AfterListening(service: app, relay: relay)),
            .init(service: RealtimeDrainService(hub: hub, readiness: readiness, timeout: configuration.shutdownGrace, drainDelay: configuration.drainDelay)),
            .init(service: IdempotencySweeper(store: store, now: configuration.now, logger: logger)),
        ]
        if let relay { services.append(.init(service: relay)) }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Runs the HTTP server once the cluster relay (if any) hears the other nodes.
private struct AfterListening<Wrapped: Service>: Service {
    let service: Wrapped
    let relay: ClusterRelay?

    func run() async throws {
        if let relay {
            await cancelWhenGracefulShutdown { await relay.waitUntilListening() }
            guard !Task.isCancelled, !Task.isShuttingDownGracefully else { return }
        }
        try await service.run()
    }
}
