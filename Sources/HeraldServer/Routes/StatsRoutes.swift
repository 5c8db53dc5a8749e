import Foundation
import HeraldCore
import HeraldStore
import Hummingbird

/// `GET /v1/stats?from=&to=`: the engagement scorecard, per category (Platform API).
struct StatsRoutes {
    let store: any StatsStore
    let now: @Sendable () -> Date

    func add(to routes: RouteRegistrar) {
        routes.on(.get, "/v1/stats", use: get)
    }

    @Sendable func get(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let (from, to) = try EngagementReport.period(from: request.uri.queryParameters.get("from"), to: request.uri.queryParameters.get("to"), now: now())
        return try JSONResponse.make(try await store.engagement(of: app, from: from, to: to))
    }
}
