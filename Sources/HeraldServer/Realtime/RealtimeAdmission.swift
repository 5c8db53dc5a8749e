import HTTPTypes
import HeraldCore
import Logging
import CoreMetrics
import NIOCore
import NIOHTTP1
import Prometheus

/// Admits a `/v1/realtime` upgrade on the connection's event loop, without a task and without the
/// router, when everything needed is in memory: what nearly every reconnecting app sends (a user
/// token in `Authorization`, no browser's `Origin`), from an address not over its failed-credential budget, for
/// a user whose token key and epoch the server already knows, within the user's request budget.
///
/// Why (issue 19): through the router, an upgrade costs a task, the middleware chain, the token's
/// checks through two actors and a store read with its thread hops, more than half of a socket's
/// connect. Anything else (no token, an API key, a token that fails or needs a read, a browser's
/// `Origin`, a budget spent, tracing on) returns nil and goes through the router, which stays the one
/// place that refuses, with its problem bodies, rejection counting and 429s. What is admitted here is
/// checked by the same rules the router's middleware and route use (`UserTokens`, `CredentialRejections`,
/// `RateLimiter`, `Concurrency`) and logged and counted like any request (`RequestLoggingMiddleware.record`).
struct RealtimeAdmission: Sendable {
    let tokens: UserTokens
    let rejections: CredentialRejections
    let limiter: RateLimiter
    let concurrency: Concurrency
    let metrics: any MetricsFactory
    let clientAddressHeader: String?
    /// Off when requests are traced: a traced server's upgrades keep their spans (`TracingMiddleware`).
    let isEnabled: Bool
    /// `herald_realtime_upgrades_total{decided}`: how many upgrades were decided here (`memory`) and how
    /// many went to the router (`router`), so an operator sees what the fast path covers.
    private let decidedInMemory: CoreMetrics.Counter
    private let decidedByRouter: CoreMetrics.Counter

    init(_ parts: ServerParts) {
        tokens = parts.tokens
        rejections = parts.rejections
        limiter = parts.limiter
        concurrency = parts.concurrency
        metrics = PrometheusMetricsFactory(registry: parts.metrics)
        clientAddressHeader = parts.configuration.clientAddressHeader
        isEnabled = !parts.configuration.tracesRequests
        decidedInMemory = CoreMetrics.Counter(label: "herald_realtime_upgrades_total", dimensions: [("decided", "memory")], factory: metrics)
        decidedByRouter = CoreMetrics.Counter(label: "herald_realtime_upgrades_total", dimensions: [("decided", "router")], factory: metrics)
    }

    /// The upgrade for a socket admitted from memory alone; nil when the router must decide.
    func admit(_ head: HTTPRequestHead, peer: String?, logger: Logger) -> RealtimeUpgrade? {
        guard let upgrade = admitFromMemory(head, peer: peer, logger: logger) else {
            decidedByRouter.increment()
            return nil
        }
        decidedInMemory.increment()
        return upgrade
    }

    private func admitFromMemory(_ head: HTTPRequestHead, peer: String?, logger: Logger) -> RealtimeUpgrade? {
        let start = ContinuousClock.now
        let headers = head.headers
        // A browser's `Origin` is checked against the app's settings, which the router reads.
        let origin = headers["origin"].isEmpty ? nil : headers["origin"].joined(separator: ", ")
        guard isEnabled, origin.map({ AppSettings.Realtime.browserOrigins(in: $0).isEmpty }) ?? true else { return nil }
        let authorization = headers["authorization"]
        guard authorization.count == 1, let header = authorization.first, header.utf8.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        let credential = AuthenticationMiddleware.trimmingBlanks(header.dropFirst(7))
        guard !credential.hasPrefix("hk_") else { return nil }
        // All the header's lines, joined as `HTTPFields` joins them for the middleware.
        let forwarded = clientAddressHeader.flatMap { name in headers[name].isEmpty ? nil : headers[name].joined(separator: ", ") }
        let clientAddress = ClientAddress.of(peer: peer, forwarded: forwarded)
        guard rejections.retryAfter(for: clientAddress) == nil, let (caller, expiresAt) = tokens.verifiedInMemory(credential),
            case .user(let app, let user) = caller
        else { return nil }
        // A slot is held for no time (the upgrade is decided now), but refused like a request when the
        // budget is full; checked before the rate is charged, so a refusal is charged once, by the router.
        let slots = concurrency.slots(for: caller)
        guard concurrency.enter(slots) else { return nil }
        concurrency.leave(slots)
        guard (try? limiter.take(for: caller)) != nil else { return nil }
        var logger = logger
        logger[metadataKey: "request_id"] = .string(RequestLoggingMiddleware.requestID(from: headers.first(name: "x-request-id")))
        logger[metadataKey: "app_id"] = "\(app)"
        RequestLoggingMiddleware.record(
            method: .get, route: "/v1/realtime", status: 200, elapsed: ContinuousClock.now - start, app: app, logger: logger, metrics: metrics)
        return RealtimeUpgrade(user: (app, user, expiresAt), origin: origin, clientAddress: clientAddress, logger: logger)
    }
}
