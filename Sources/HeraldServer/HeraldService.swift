import Foundation
import HeraldStore
public import Logging
import ServiceLifecycle

/// `herald serve`: opens the data directory and the store, runs the HTTP and realtime server until
/// SIGTERM or SIGINT, then shuts down in order: WebSockets closed with 1001, in-flight requests
/// finished, the store's writer drained and closed.
public enum HeraldService {
    public static func run(configuration: ServerConfiguration, logger: Logger) async throws {
        let directory = DataDirectory(path: configuration.dataDirectory)
        let prepared = try directory.prepare(environmentKey: configuration.masterKeyBase64)
        let lock = try directory.lock()
        let hub = Hub(logger: logger)
        let store = try directory.openStore(prepared: prepared, durability: configuration.durability, now: configuration.now, observer: hub.deliver)
        if prepared.createdDirectory { logger.notice("created data directory", metadata: ["path": "\(directory.url.path)"]) }
        if prepared.createdMasterKey {
            logger.notice("created master key (keep it safe: without it the data cannot be read)", metadata: ["path": "\(directory.masterKeyURL.path)"])
        }
        if prepared.createdDatabase { logger.notice("created database", metadata: ["path": "\(directory.databaseURL.path)"]) }

        let app = try buildApplication(configuration: configuration, store: store, hub: hub, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: app),
                    .init(service: RealtimeDrainService(hub: hub, timeout: configuration.shutdownGrace)),
                    .init(service: IdempotencySweeper(store: store, now: configuration.now, logger: logger)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        logger.notice("herald starting", metadata: ["data": "\(directory.url.path)", "durability": "\(configuration.durability)"])
        try await group.run()
        try await store.close()
        withExtendedLifetime(lock) {}
        logger.notice("herald stopped")
    }
}
