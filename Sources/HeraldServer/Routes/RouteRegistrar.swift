import HTTPTypes
import Hummingbird

/// Adds routes to the router and records them in the `RouteTable` (for 405 answers).
struct RouteRegistrar {
    typealias Handler = @Sendable (Request, HeraldRequestContext) async throws -> Response
    let router: Router<HeraldRequestContext>
    let table: RouteTable

    func on(_ method: HTTPRequest.Method, _ path: String, use handler: @escaping Handler) {
        table.add(method.rawValue, path)
        router.on(RouterPath(path), method: method, use: handler)
    }
}
