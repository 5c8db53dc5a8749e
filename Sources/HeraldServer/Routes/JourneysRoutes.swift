import Foundation
import HeraldCore
import HeraldStore
import Hummingbird

/// `/v1/journeys`: versioned journeys and how customers went through them (Platform API).
struct JourneysRoutes {
    let store: any JourneyStore
    let journeys: JourneyService

    private struct JourneyList: Encodable {
        var journeys: [Journey]
    }

    func add(to routes: RouteRegistrar) {
        routes.on(.get, "/v1/journeys", use: list)
        routes.on(.put, "/v1/journeys/:key", use: put)
        routes.on(.get, "/v1/journeys/:key", use: get)
        routes.on(.get, "/v1/journeys/:key/report", use: report)
        routes.on(.post, "/v1/journeys/:key/dry-run", use: dryRun)
    }

    @Sendable func list(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        return try JSONResponse.make(JourneyList(journeys: try await store.journeys(in: app)))
    }

    /// Stores the next version; customers already in the journey finish on the version they entered.
    @Sendable func put(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let key = try JourneyKey(validating: context.parameters.get("key") ?? "", field: "key")
        let journey = try await journeys.put(key, body: await request.bodyData(limit: Limits.journeyBytes), app: app)
        return try JSONResponse.make(journey, status: journey.version == 1 ? .created : .ok)
    }

    @Sendable func get(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let journey = try await requireJourney(request, context: context, app: app)
        return try JSONResponse.make(journey)
    }

    /// Walks the latest version (or `?version=N`) for a customer and the events given, sending nothing.
    @Sendable func dryRun(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let journey = try await requireJourney(request, context: context, app: app)
        return try JSONResponse.make(try await journeys.dryRun(journey, body: await request.bodyData(), app: app))
    }

    /// Entries, where the runs stand, and what each step did, over every version.
    @Sendable func report(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let key = try context.parameters.id("key", as: JourneyKey.self, resource: "journey")
        guard try await store.journey(key, version: nil, in: app) != nil else { throw HeraldError.notFound(resource: "journey") }
        return try JSONResponse.make(try await store.journeyReport(key, in: app))
    }

    /// The journey of the path, in the version `?version=N` asks for (the latest without).
    private func requireJourney(_ request: Request, context: HeraldRequestContext, app: AppID) async throws -> Journey {
        let version = try request.versionParameter()
        let key = try context.parameters.id("key", as: JourneyKey.self, resource: "journey")
        guard let journey = try await store.journey(key, version: version, in: app) else { throw HeraldError.notFound(resource: "journey") }
        return journey
    }
}
