import HeraldCore
import HeraldStore
import Hummingbird

/// The verified-sender keys: published for anyone to pin (`GET /v1/apps/{appId}/keys`), rotated by the
/// business (`POST /v1/signing-keys/rotate`).
struct SigningKeysRoutes {
    let store: any AppStore
    let signer: BusinessSigner

    private struct Rotated: Encodable {
        var kid: String
        var keys: [PublicJWK]
    }

    /// Public: registered before authentication, so credentials (even bad ones) are ignored.
    func addPublic(to routes: RouteRegistrar) {
        routes.on(.get, "/v1/apps/:appId/keys", use: keys)
    }

    func add(to routes: RouteRegistrar) {
        routes.on(.post, "/v1/signing-keys/rotate", use: rotate)
    }

    @Sendable func keys(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try context.parameters.id("appId", as: AppID.self, resource: "app")
        guard try await store.app(app) != nil else { throw HeraldError.notFound(resource: "app") }
        var response = try JSONResponse.make(try await signer.keySet(of: app))
        // Clients pin keys; a short cache keeps a rotation visible within minutes.
        response.headers[.cacheControl] = "public, max-age=300"
        return response
    }

    @Sendable func rotate(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let key = try await signer.rotate(app)
        return try JSONResponse.make(Rotated(kid: key.kid, keys: try await signer.keySet(of: app).keys), status: .created)
    }
}
