import Foundation
public import HeraldStore
public import Hummingbird
import HTTPTypes
import HeraldCore
import HummingbirdCore
import HummingbirdTLS
import NIOCore
import NIOSSL
public import Prometheus
public import Logging

/// All wiring of the HTTP application: middleware order, routes, the realtime gateway.
///
/// Middleware order, outermost first: request id and logging; errors to problem+json; authentication
/// (for every route but `/health`).
/// So every response, including 401s and unknown routes, gets an id and a problem body.
/// - Throws: when the configuration names files that cannot be read (`extraCAFile`).
public func buildApplication(
    configuration: ServerConfiguration,
    store: any Store,
    hub: Hub,
    readiness: Readiness = Readiness(),
    metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    logger: Logger
) throws -> some ApplicationProtocol {
    try buildApplication(parts: ServerParts(configuration: configuration, store: store, hub: hub, readiness: readiness, metrics: metrics, logger: logger))
}

/// The application on given parts (tests keep the parts, to drive workers that share its metrics).
func buildApplication(parts: ServerParts) throws -> some ApplicationProtocol {
    let (configuration, logger) = (parts.configuration, parts.logger)
    let (router, _) = buildRouter(parts)
    let gateway = RealtimeGateway(
        store: parts.store, hub: parts.hub, tokens: parts.tokens, limits: configuration.realtime, readPositions: parts.readPositions,
        rejections: parts.rejections, metrics: PrometheusMetricsFactory(registry: parts.metrics), now: configuration.now)
    // The idle timeout ends a keep-alive connection that sends nothing (an upgraded WebSocket is not
    // affected: its pings watch it).
    // A first request head must arrive within the body deadline's time (see `RequestHeadDeadlineChannel`).
    let upgradeRouter = router.buildResponder()
    let http1 = HTTP1Channel.Configuration(idleTimeout: .nanoseconds(Int64(configuration.httpIdleTimeout.seconds * 1e9)))
    let headTimeout = TimeAmount.nanoseconds(Int64(configuration.requestBodyTimeout.seconds * 1e9))
    var server = HTTPServerBuilder { responder in
        RequestHeadDeadlineChannel(
            base: RealtimeChildChannel(
                responder: responder, upgradeRouter: upgradeRouter, admission: RealtimeAdmission(parts), http1: http1, gateway: gateway),
            timeout: headTimeout)
    }
    if let certificate = configuration.tlsCertificateFile, let key = configuration.tlsKeyFile {
        server = try .tls(server, tlsConfiguration: try serverTLS(certificate: certificate, key: key))
    }
    var application = Application(
        router: router,
        server: server,
        // A deep accept queue: a reconnect storm (every client of a restarted node at once) must not
        // overflow it, or clients wait seconds for SYN retries. The kernel caps it at net.core.somaxconn.
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "herald", backlog: 4096),
        onServerRunning: { channel in
            // The bound address (with the real port when 0 was asked for): scripts and tests wait for this line.
            logger.notice("herald listening", metadata: ["address": "\(channel.localAddress.map { "\($0.ipAddress ?? configuration.host):\($0.port ?? 0)" } ?? "?")"])
        },
        logger: logger
    )
    application.addServices(parts.readPositions, parts.rejections)
    if configuration.runsWorkers {
        application.addServices(
            NotificationScheduler(notifications: parts.notifications, interval: configuration.schedulerInterval, logger: logger), parts.outboxWorker(),
            try parts.pushWorker(), parts.retentionSweeper(), parts.journeyWorker(), try parts.fallbackWorker())
    }
    return application
}

/// TLS 1.2 or later with the operator's certificate chain and key (PEM files).
func serverTLS(certificate: String, key: String) throws -> TLSConfiguration {
    var tls = TLSConfiguration.makeServerConfiguration(
        certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
    tls.minimumTLSVersion = .tlsv12
    return tls
}

/// The router with every middleware and route, and the table of those routes (for 405 answers and
/// for the test that keeps `docs/openapi.yaml` true).
func buildRouter(_ parts: ServerParts) -> (Router<HeraldRequestContext>, RouteTable) {
    let (configuration, store, hub, tokens, signer) = (parts.configuration, parts.store, parts.hub, parts.tokens, parts.signer)
    let table = RouteTable()
    let router = Router(context: HeraldRequestContext.self)
    router.add(middleware: SecurityHeadersMiddleware(usesTLS: configuration.tlsCertificateFile != nil))
    // Outside the request log, so its line carries the trace id (the OTel metadata provider).
    if configuration.tracesRequests { router.add(middleware: TracingMiddleware()) }
    let metrics = PrometheusMetricsFactory(registry: parts.metrics)
    router.add(middleware: RequestLoggingMiddleware(metrics: metrics))
    router.add(middleware: ProblemMiddleware(routes: table))
    router.add(middleware: RequestBodyDeadlineMiddleware(deadline: configuration.requestBodyTimeout))
    let routes = RouteRegistrar(router: router, table: table, audit: store)
    // Health and the published keys are added before authentication: they ignore credentials, even bad ones.
    HealthRoutes(store: store, readiness: parts.readiness).add(to: routes)
    let signingKeys = SigningKeysRoutes(store: store, signer: signer)
    signingKeys.addPublic(to: routes)
    let push = PushRoutes(store: store)
    push.addPublic(to: routes)
    MetricsRoutes(registry: parts.metrics, hub: parts.hub, store: store).add(to: routes)
    router.add(
        middleware: AuthenticationMiddleware(
            store: store, tokens: tokens, rejections: parts.rejections, clientAddressHeader: configuration.clientAddressHeader.flatMap { HTTPField.Name($0) }))
    router.add(middleware: RateLimitMiddleware(limiter: parts.limiter, concurrency: parts.concurrency, metrics: metrics))
    let inboxSigner = InboxItemSigner(signer: signer, store: store)
    UsersRoutes(store: store, tokens: tokens, hub: hub, webhooks: parts.webhooks, inboxSigner: inboxSigner, now: configuration.now).add(to: routes)
    AuditRoutes(store: store).add(to: routes)
    ChannelsRoutes(store: store, hub: hub).add(to: routes)
    MessagesRoutes(store: store, signer: signer).add(to: routes)
    SettingsRoutes(store: store).add(to: routes)
    TemplatesRoutes(store: store).add(to: routes)
    NotificationsRoutes(store: store, notifications: parts.notifications, now: configuration.now).add(to: routes)
    InboxRoutes(store: store, signer: inboxSigner, now: configuration.now).add(to: routes)
    ActionsRoutes(actions: parts.actions).add(to: routes)
    DevicesRoutes(store: store, webhooks: parts.webhooks, allowsPrivateTargets: configuration.allowsPrivateTargets, now: configuration.now).add(to: routes)
    push.add(to: routes)
    WebhooksRoutes(store: store, allowsPrivateTargets: configuration.allowsPrivateTargets).add(to: routes)
    StatsRoutes(store: store, now: configuration.now).add(to: routes)
    signingKeys.add(to: routes)
    MeRoutes(store: store).add(to: routes)
    EventsRoutes(journeys: parts.journeys, now: configuration.now).add(to: routes)
    JourneysRoutes(store: store, journeys: parts.journeys).add(to: routes)
    FallbackRoutes(store: store, allowsPrivateTargets: configuration.allowsPrivateTargets).add(to: routes)

    table.add("GET", "/v1/realtime")
    router.get("/v1/realtime") { _, context -> Response in
        if let caller = context.caller, caller.userID == nil {
            throw Problem(.forbidden, .forbidden, "Not allowed", detail: "The realtime gateway is for user tokens.")
        }
        // A browser page (it sends `Origin`) may connect only from an origin the app allows; with
        // frame auth the gateway checks once the token names the app.
        if let caller = context.caller, let origin = context.origin, !(try await store.settings(of: caller.appID)).realtime.allows(originHeader: origin) {
            throw Problem(.forbidden, .forbidden, "Not allowed", detail: "This origin may not open the realtime connection (realtime.allowedOrigins).")
        }
        guard let slot = context.realtimeUpgrade else {
            var problem = Problem(.init(code: 426), .malformed, "Upgrade required", detail: "GET /v1/realtime is a WebSocket: ask to upgrade (docs/protocol.md).")
            problem.headers[.upgrade] = "websocket"
            throw problem
        }
        var user: (app: AppID, user: UserID, expiresAt: Date)?
        if case .user(let app, let id)? = context.caller, let expiry = context.credentialExpiry { user = (app, id, expiry) }
        slot.accept(RealtimeUpgrade(user: user, origin: context.origin, clientAddress: context.clientAddress, logger: context.logger))
        return Response(status: .ok)
    }

    return (router, table)
}
