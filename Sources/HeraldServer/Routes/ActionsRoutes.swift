import HeraldCore
import HeraldStore
import Hummingbird

/// `/v1/me/inbox/{itemId}/actions/{actionId}`: the customer acts on an item, with a step-up signature
/// where the action asks for one (client API).
struct ActionsRoutes {
    let actions: ActionService

    func add(to routes: RouteRegistrar) {
        routes.on(.post, "/v1/me/inbox/:itemId/actions/:actionId/challenge", use: challenge)
        routes.on(.post, "/v1/me/inbox/:itemId/actions/:actionId", use: perform)
    }

    @Sendable func challenge(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try Access.requireUser(context.requireCaller())
        let item = try context.parameters.id("itemId", as: InboxItemID.self, resource: "inbox item")
        let challenge = try await actions.challenge(item: item, action: context.parameters.get("actionId") ?? "", user: user, app: app)
        return try JSONResponse.make(challenge, status: .created)
    }

    /// 200 with the recorded result, the first time and every time after.
    @Sendable func perform(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try Access.requireUser(context.requireCaller())
        let item = try context.parameters.id("itemId", as: InboxItemID.self, resource: "inbox item")
        let result = try await actions.perform(
            item: item, action: context.parameters.get("actionId") ?? "", body: await request.bodyData(), user: user, app: app)
        return try JSONResponse.make(result)
    }
}
