import Foundation
import HeraldPush
import HeraldStore
import Logging
import Prometheus

/// The long-lived parts that routes, the realtime gateway and workers share, built once per server.
struct ServerParts: Sendable {
    let configuration: ServerConfiguration
    let store: any Store
    let hub: Hub
    let tokens: UserTokens
    let signer: BusinessSigner
    let notifications: NotificationService
    let actions: ActionService
    /// Journeys: their declarations, the events they follow and the runs they drive (`JourneyWorker`).
    let journeys: JourneyService
    let webhooks: WebhookEvents
    let readiness: Readiness
    /// Coalesces the realtime gateway's `read` frames into shared writes (runs as a service of the application).
    let readPositions: ReadPositionWriter
    /// Failed credentials: the per-address limit and their aggregated audit events (a service too).
    let rejections: CredentialRejections
    /// Requests per caller, and in flight: the HTTP API's middleware and the realtime upgrade share them.
    let limiter: RateLimiter
    let concurrency: Concurrency
    /// This server's metrics, exported on `/metrics`. A registry per server rather than the global
    /// `MetricsSystem`, so tests (several servers in one process) do not share counters.
    let metrics: PrometheusCollectorRegistry
    let logger: Logger

    /// - Parameter metrics: the registry `/metrics` exports; made before the store when the store reports
    ///   to it too (its commits, `CommitMetrics`).
    init(
        configuration: ServerConfiguration, store: any Store, hub: Hub, readiness: Readiness = Readiness(),
        metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), logger: Logger
    ) {
        self.configuration = configuration
        self.store = store
        self.hub = hub
        self.readiness = readiness
        self.logger = logger
        tokens = UserTokens(store: store, now: configuration.now)
        signer = BusinessSigner(store: store, now: configuration.now)
        webhooks = WebhookEvents(store: store)
        self.metrics = metrics
        notifications = NotificationService(
            store: store, hub: hub, signer: signer, webhooks: webhooks, now: configuration.now, metrics: PrometheusMetricsFactory(registry: metrics), logger: logger)
        actions = ActionService(store: store, webhooks: webhooks, now: configuration.now)
        journeys = JourneyService(store: store, notifications: notifications, now: configuration.now, logger: logger)
        readPositions = ReadPositionWriter(store: store, hub: hub, logger: logger)
        rejections = CredentialRejections(store: store, limits: configuration.credentialFailures, now: configuration.now, logger: logger)
        limiter = RateLimiter(
            platform: .init(rate: configuration.platformRate, burst: configuration.platformRate * 2),
            user: .init(rate: configuration.userRate, burst: configuration.userRate * 3), now: { configuration.now().timeIntervalSince1970 })
        concurrency = Concurrency(perApp: configuration.appConcurrency, perUser: configuration.userConcurrency)
    }

    func retentionSweeper() -> RetentionSweeper {
        RetentionSweeper(store: store, now: configuration.now, interval: configuration.retentionInterval, logger: logger)
    }

    /// The worker that sends pushes; it owns the providers' HTTP client until it stops.
    /// - Throws: when `extraCAFile` cannot be read.
    func pushWorker() throws -> PushWorker {
        PushWorker(
            store: store, hub: hub, providers: try PushProviders(configuration: configuration),
            metrics: PushMetrics(factory: PrometheusMetricsFactory(registry: metrics)), now: configuration.now, interval: configuration.pushInterval,
            logger: logger)
    }

    /// The worker that acts on customer events and moves journey runs that are due.
    func journeyWorker() -> JourneyWorker {
        JourneyWorker(store: store, journeys: journeys, now: configuration.now, interval: configuration.schedulerInterval, logger: logger)
    }

    /// The worker that sends the journeys' fallbacks by SMS and e-mail; it owns an HTTP client until it stops.
    /// - Throws: when `extraCAFile` cannot be read.
    func fallbackWorker() throws -> FallbackWorker {
        FallbackWorker(
            store: store, http: try PushHTTPClient(allowsPrivateTargets: configuration.allowsPrivateTargets, extraCAFile: configuration.extraCAFile),
            smtp: try SMTPClient(allowsPrivateTargets: configuration.allowsPrivateTargets, extraCAFile: configuration.extraCAFile),
            now: configuration.now, interval: configuration.schedulerInterval, logger: logger)
    }

    /// The worker that delivers webhooks and follow-ups; it owns an HTTP client until it stops.
    func outboxWorker() -> OutboxWorker {
        OutboxWorker(
            store: store, notifications: notifications, sender: WebhookSender(allowsPrivateTargets: configuration.allowsPrivateTargets, now: configuration.now),
            now: configuration.now, interval: configuration.schedulerInterval, logger: logger)
    }
}
