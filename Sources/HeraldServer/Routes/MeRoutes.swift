import HeraldCore
import HeraldStore
import Hummingbird

/// `/v1/me/...`: the signed-in user's own view (client API).
struct MeRoutes {
    let store: any Store

    private struct ChannelList: Encodable {
        var channels: [ChannelSummary]
    }

    func add(to routes: RouteRegistrar) {
        routes.on(.get, "/v1/me/channels", use: channels)
    }

    @Sendable func channels(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try Access.requireUser(context.requireCaller())
        return try JSONResponse.make(ChannelList(channels: try await store.channelSummaries(of: user, in: app)))
    }
}
