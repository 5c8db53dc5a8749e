import Foundation
import HeraldCore
import HeraldStore
import Hummingbird

/// `/v1/users/{userId}`: the business manages its customers and issues their tokens (Platform API).
struct UsersRoutes {
    let store: any AppStore & ErasureStore & OutboxStore & UserStore
    let tokens: UserTokens
    let hub: Hub
    let webhooks: WebhookEvents
    /// Signs the items of shared notifications in an export that no one had read yet.
    let inboxSigner: InboxItemSigner
    let now: @Sendable () -> Date

    private struct IssuedToken: Encodable {
        var token: String
        var expiresAt: Date
    }

    func add(to routes: RouteRegistrar) {
        routes.on(.put, "/v1/users/:userId", use: put)
        routes.on(.get, "/v1/users/:userId", use: get)
        routes.on(.post, "/v1/users/:userId/tokens", use: issueToken)
        routes.on(.post, "/v1/users/:userId/tokens/revoke", use: revokeTokens)
        routes.on(.post, "/v1/token-keys/rotate", use: rotateTokenKey)
        routes.on(.get, "/v1/users/:userId/export", audited: true, use: export)
        routes.on(.delete, "/v1/users/:userId", use: erase)
    }

    @Sendable func put(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let userID = try UserID(validating: context.parameters.get("userId") ?? "", field: "userId")
        let profile = try UserProfile(body: await request.bodyData())
        let (user, created) = try await store.putUser(userID, profile: profile, in: app)
        return try JSONResponse.make(user, status: created ? .created : .ok)
    }

    /// Erasure by crypto-shredding: the user's data key is destroyed, so their content stops opening
    /// everywhere at once; their live connections close and their tokens stop working.
    @Sendable func erase(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let userID = try context.parameters.id("userId", as: UserID.self, resource: "user")
        guard try await store.user(userID, in: app) != nil else { throw HeraldError.notFound(resource: "user") }
        // Their sockets close before their key goes, so no send of theirs is in flight when it does; and
        // again after, for a socket that opened meanwhile.
        hub.erased(userID, in: app)
        guard try await store.eraseUser(userID, in: app) else { throw HeraldError.notFound(resource: "user") }
        hub.erased(userID, in: app)
        return Response(status: .noContent)
    }

    /// Everything stored about the user as one JSON document (GDPR Art. 15 and 20), offered as a download.
    @Sendable func export(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let userID = try context.parameters.id("userId", as: UserID.self, resource: "user")
        guard var export = try await store.export(userID, in: app) else { throw HeraldError.notFound(resource: "user") }
        export.inbox = try await inboxSigner.signed(export.inbox, app: app)
        var response = try JSONResponse.make(export)
        response.headers[.contentDisposition] = "attachment; filename=\"herald-export-\(userID.rawValue).json\""
        return response
    }

    @Sendable func get(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let userID = try context.parameters.id("userId", as: UserID.self, resource: "user")
        guard let user = try await store.user(userID, in: app) else { throw HeraldError.notFound(resource: "user") }
        return try JSONResponse.make(user)
    }

    /// Logout everywhere, a stolen phone, a leaked token: every token issued to the user until now stops
    /// working at once, on every node, and their live connections close.
    @Sendable func revokeTokens(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let userID = try context.parameters.id("userId", as: UserID.self, resource: "user")
        let time = WireTime.truncated(now())
        guard try await store.revokeTokens(of: userID, in: app) else { throw HeraldError.notFound(resource: "user") }
        hub.disconnect(userID, in: app, reason: "tokens revoked")
        try await store.enqueue(
            try await webhooks.entries(
                for: .userTokensRevoked, app: app, user: userID, data: ["userId": .string(userID.rawValue), "revokedAt": .string(WireTime.format(time))], at: time),
            app: app)
        return Response(status: .noContent)
    }

    /// A new key signs the app's tokens from now on; tokens signed by earlier keys work until they expire.
    @Sendable func rotateTokenKey(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        struct Rotated: Encodable { var kid: String }
        return try JSONResponse.make(Rotated(kid: try await store.rotateTokenKey(of: app).kid), status: .created)
    }

    @Sendable func issueToken(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let userID = try context.parameters.id("userId", as: UserID.self, resource: "user")
        let input = try TokenRequest(body: await request.bodyData())
        guard try await store.user(userID, in: app) != nil else { throw HeraldError.notFound(resource: "user") }
        let (token, expiresAt) = try await tokens.issue(for: userID, in: app, ttlSeconds: input.ttlSeconds)
        return try JSONResponse.make(IssuedToken(token: token, expiresAt: expiresAt), status: .created)
    }
}
