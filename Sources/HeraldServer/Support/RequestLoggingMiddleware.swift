import Foundation
import HTTPTypes
import HeraldCore
import Hummingbird
import CoreMetrics
import Logging

/// Gives every request an id (`X-Request-Id`, taken from the client when well-formed), puts it in the
/// logger's metadata and logs one line per request at `info` (`error` for a 5xx): request id, method,
/// route (the pattern, `/v1/users/{userId}`: ids in paths name customers), status, duration, and the
/// app of an authenticated caller. Headers and bodies are never logged: they carry credentials and content.
///
/// The same facts feed `herald_http_requests_total{route, method, status}` and
/// `herald_http_request_duration_seconds{route, method}` (labels bounded: route patterns, never ids).
/// Hummingbird's `MetricsMiddleware` records to the process-wide `MetricsSystem`; Herald passes each
/// server its own factory instead (no global state, several servers per test process).
struct RequestLoggingMiddleware: RouterMiddleware {
    typealias Context = HeraldRequestContext

    let metrics: any MetricsFactory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestID = Self.requestID(from: request.headers[.xRequestID])
        context.logger[metadataKey: "request_id"] = .string(requestID)
        let start = ContinuousClock.now
        do {
            var response = try await next(request, context)
            response.headers[.xRequestID] = requestID
            log(request, status: response.status.code, since: start, context: context)
            return response
        } catch let error as any HTTPResponseError {
            var response = try error.response(from: request, context: context)
            response.headers[.xRequestID] = requestID
            log(request, status: response.status.code, since: start, context: context)
            return response
        }
    }

    private func log(_ request: Request, status: Int, since start: ContinuousClock.Instant, context: Context) {
        Self.record(
            method: request.method, route: context.endpointPath, status: status, elapsed: ContinuousClock.now - start, app: context.notes.app,
            logger: context.logger, metrics: metrics)
    }

    /// The request's log line and metrics: every request's, and the realtime upgrades that
    /// `RealtimeAdmission` admits without the router.
    static func record(
        method: HTTPRequest.Method, route: String?, status: Int, elapsed: Duration, app: AppID?, logger: Logger, metrics: any MetricsFactory
    ) {
        var metadata: Logger.Metadata = [
            "method": .string(method.rawValue), "route": .string(route ?? "unmatched"), "status": .stringConvertible(status),
            "duration_ms": .stringConvertible((Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)),
        ]
        if let app { metadata["app_id"] = .string(app.rawValue) }
        logger.log(level: status >= 500 ? .error : .info, "request", metadata: metadata)
        // Bounded labels: a client chooses its method, so an unknown one is `other` (or every new method
        // would be a new series).
        let route = route ?? "unmatched"
        let method = Self.knownMethods.contains(method.rawValue) ? method.rawValue : "other"
        Counter(label: "herald_http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))], factory: metrics).increment()
        Timer(label: "herald_http_request_duration_seconds", dimensions: [("route", route), ("method", method)], factory: metrics)
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }

    private static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    /// The client's `X-Request-Id` when it is usable, else a new one.
    static func requestID(from header: String?) -> String {
        header.flatMap(Self.acceptable) ?? RandomToken.base32(byteCount: 10)
    }

    private static func acceptable(_ id: String) -> String? {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { (0x21...0x7E).contains($0) } ? id : nil
    }
}

extension HTTPField.Name {
    static let xRequestID = Self("X-Request-Id")!
}
