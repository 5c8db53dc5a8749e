import Hummingbird
import NIOCore
import Prometheus

/// `GET /metrics`: the Prometheus text exposition of this server's metrics, without authentication
/// (like `/health`) for the operator's scraper. Labels name providers and reasons, never a tenant or
/// a user; an operator who does not want it reachable blocks the path at the proxy.
///
/// `herald_realtime_connections` (a gauge) is the number of live WebSocket connections of this node,
/// read from the hub at each scrape rather than counted twice.
struct MetricsRoutes {
    let registry: PrometheusCollectorRegistry
    let hub: Hub

    func add(to routes: RouteRegistrar) {
        routes.on(.get, "/metrics", use: metrics)
    }

    @Sendable func metrics(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "herald", subsystem: "realtime", metricName: "connections", unitName: "", helpText: "Live WebSocket connections of this node")
        ).set(Int64(hub.connectionCount))
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
    }
}
