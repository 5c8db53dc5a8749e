import HeraldCore
import HeraldStore
import Hummingbird

/// `/v1/settings`: the app's link policy, retention and push privacy (Platform API).
struct SettingsRoutes {
    let store: any SettingsStore

    func add(to routes: RouteRegistrar) {
        routes.on(.get, "/v1/settings", use: get)
        routes.on(.put, "/v1/settings", use: put)
    }

    @Sendable func get(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        return try JSONResponse.make(try await store.settings(of: app))
    }

    @Sendable func put(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let body = try await request.bodyData()
        return try JSONResponse.make(try await store.updateSettings(of: app) { current in try current.merging(body: body) })
    }
}
