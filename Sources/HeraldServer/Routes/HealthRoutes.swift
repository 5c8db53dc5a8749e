import HeraldStore
import Hummingbird

/// `GET /health` (liveness: the process answers) and `GET /ready` (readiness: route traffic here), for
/// load balancers, without authentication.
struct HealthRoutes {
    let store: any AvailabilityStore
    let readiness: Readiness

    func add(to routes: RouteRegistrar) {
        routes.on(.get, "/health") { _, _ in try JSONResponse.make(["status": "ok"]) }
        routes.on(.get, "/ready") { _, _ in
            if let problem = await readiness.problem(store: store) {
                throw Problem(.serviceUnavailable, .notReady, "Not ready", detail: problem)
            }
            return try JSONResponse.make(["status": "ready"])
        }
    }
}
