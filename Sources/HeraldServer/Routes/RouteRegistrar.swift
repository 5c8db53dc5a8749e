import HTTPTypes
import HeraldCore
import HeraldStore
import Hummingbird

/// Adds routes to the router, records them in the `RouteTable` (for 405 answers), and puts each
/// Platform API write on the audit trail.
///
/// Auditing here, where the route's pattern is known, covers every write route by construction: a
/// new route cannot be forgotten. The event is committed before the response goes out (group commit:
/// concurrent requests share the fsync); a write whose event cannot be recorded answers 500, so
/// nothing the audit trail lacks is acknowledged as done.
struct RouteRegistrar {
    typealias Handler = @Sendable (Request, HeraldRequestContext) async throws -> Response
    let router: Router<HeraldRequestContext>
    let table: RouteTable
    let audit: any AuditStore

    /// - Parameter audited: record successful platform calls of this route even though it is a read
    ///   (exports). Writes (every method but GET) are always recorded.
    func on(_ method: HTTPRequest.Method, _ path: String, audited: Bool = false, use handler: @escaping Handler) {
        table.add(method.rawValue, path)
        guard audited || method != .get else {
            router.on(RouterPath(path), method: method, use: handler)
            return
        }
        let action = "\(method.rawValue) " + RouteTable.documented(path)
        router.on(RouterPath(path), method: method) { [audit] request, context in
            let response = try await handler(request, context)
            if case .platform(let app)? = context.caller, response.status.code < 400 {
                try await audit.recordAudit(
                    NewAuditEvent(chain: .app(app), actor: "platform:\(context.apiKeyID ?? "unknown")", action: action, target: request.uri.path))
            }
            return response
        }
    }
}
