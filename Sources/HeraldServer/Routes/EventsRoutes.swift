import Foundation
import HeraldCore
import HeraldStore
import Hummingbird

/// `/v1/events`: the business tells Herald what its customers did, for the journeys to follow
/// (Platform API).
struct EventsRoutes {
    let journeys: JourneyService
    let now: @Sendable () -> Date

    func add(to routes: RouteRegistrar) {
        routes.on(.post, "/v1/events", use: post)
    }

    /// Answers once the event is stored (durably, with the outbox row that makes the journeys act on
    /// it); the journeys act on it shortly after.
    @Sendable func post(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let body = try await request.bodyData()
        let new = try NewCustomerEvent(body: body, now: now())
        let canonical = (try? JSONValue.parse(body).canonicalData()) ?? body
        let idempotency = try request.idempotencyKey(scope: "http:platform(\(app)):events", request: canonical, user: new.user)
        let (event, isReplay) = try await journeys.record(new, app: app, idempotency: idempotency)
        return try JSONResponse.make(event, status: isReplay ? .ok : .created)
    }
}
