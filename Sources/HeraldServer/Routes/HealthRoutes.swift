import Hummingbird

/// `GET /health`: liveness for load balancers, without authentication.
struct HealthRoutes {
    func add(to routes: RouteRegistrar) {
        routes.on(.get, "/health") { _, _ in try JSONResponse.make(["status": "ok"]) }
    }
}
