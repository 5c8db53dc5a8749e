import Foundation
import HeraldCore
import HeraldStore
import Hummingbird

/// `/v1/me/...`: the signed-in user's own view (client API).
struct MeRoutes {
    let store: any ChannelStore & UserStore

    private struct ChannelList: Encodable {
        var channels: [ChannelSummary]
    }

    func add(to routes: RouteRegistrar) {
        routes.on(.get, "/v1/me/channels", use: channels)
        routes.on(.get, "/v1/me/preferences", use: preferences)
        routes.on(.put, "/v1/me/preferences", use: putPreferences)
    }

    @Sendable func preferences(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try Access.requireUser(context.requireCaller())
        guard let profile = try await store.user(user, in: app) else { throw HeraldError.notFound(resource: "user") }
        return try JSONResponse.make(profile.preferences)
    }

    /// Merged: `consents` fields given replace theirs; `quietHours` replaces the window or clears it with null.
    @Sendable func putPreferences(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try Access.requireUser(context.requireCaller())
        let body = try await request.bodyData()
        _ = try UserPreferences().merging(body: body)
        return try JSONResponse.make(try await store.updatePreferences(of: user, in: app) { current in try current.merging(body: body) })
    }

    @Sendable func channels(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try Access.requireUser(context.requireCaller())
        return try JSONResponse.make(ChannelList(channels: try await store.channelSummaries(of: user, in: app)))
    }
}
