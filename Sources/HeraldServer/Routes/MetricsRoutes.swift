import HeraldStore
import Hummingbird
import NIOCore
import Prometheus

/// `GET /metrics`: the Prometheus text exposition of this server's metrics, without authentication
/// (like `/health`) for the operator's scraper. Labels name providers and reasons, never a tenant or
/// a user; an operator who does not want it reachable blocks the path at the proxy.
///
/// Read at each scrape rather than counted twice: `herald_realtime_connections` (this node's live
/// WebSocket connections, from the hub) and `herald_outbox_backlog{kind}` (rows waiting in the shared
/// outbox: pushes, message pushes, webhooks, follow-ups; the same on every node of a cluster).
struct MetricsRoutes {
    let registry: PrometheusCollectorRegistry
    let hub: Hub
    let store: any OutboxStore

    func add(to routes: RouteRegistrar) {
        routes.on(.get, "/metrics", use: metrics)
    }

    @Sendable func metrics(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "herald", subsystem: "realtime", metricName: "connections", unitName: "", helpText: "Live WebSocket connections of this node")
        ).set(Int64(hub.connectionCount))
        // A store that does not answer leaves the last figures: /metrics itself still answers.
        if let backlog = try? await store.outboxBacklog() {
            for kind in OutboxKind.allCases {
                registry.makeGauge(
                    descriptor: MetricNameDescriptor(namespace: "herald", subsystem: "outbox", metricName: "backlog", unitName: "", helpText: "Outbox rows waiting, per kind"),
                    labels: [("kind", kind.rawValue)]
                ).set(Int64(backlog[kind] ?? 0))
            }
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
    }
}
