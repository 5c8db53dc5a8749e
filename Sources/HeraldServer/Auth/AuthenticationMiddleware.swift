import HTTPTypes
import HeraldCore
import HeraldStore
import Hummingbird

/// Reads `Authorization: Bearer <credential>`: an API key (`hk_...`) makes the caller the app's
/// platform, a user token makes it that user. A request without the header goes on unauthenticated
/// (routes that need a caller say 401); a header with a bad credential is 401 at once.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = HeraldRequestContext
    let store: any Store
    let tokens: UserTokens

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.origin = request.headers[.origin]
        guard let header = request.headers[.authorization] else {
            return try await next(request, context)
        }
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else { throw HeraldError.unauthenticated }
        let credential = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        if credential.hasPrefix("hk_") {
            guard let key = APIKey(token: credential), let app = try await store.authenticate(key) else {
                context.logger.info("rejected API key")
                try await recordRejection(APIKey(token: credential), path: request.uri.path)
                throw HeraldError.unauthenticated
            }
            context.caller = .platform(app)
            context.apiKeyID = key.keyID
        } else {
            let (caller, expiry) = try await tokens.verify(credential)
            context.caller = caller
            context.credentialExpiry = expiry
        }
        context.logger[metadataKey: "app_id"] = "\(context.caller!.appID)"
        return try await next(request, context)
    }

    /// A rejected API key goes on the audit trail: on its app's chain when its id names one (a wrong or
    /// old secret for a real key), on the operator's otherwise. Only the key's public id is recorded.
    private func recordRejection(_ key: APIKey?, path: String) async throws {
        var app: AppID?
        if let key { app = try await store.app(withKeyID: key.keyID) }
        try await store.recordAudit(
            NewAuditEvent(
                chain: app.map(AuditChain.app) ?? .operator, actor: key.map { "platform:\($0.keyID)" } ?? "anonymous", action: "credential.rejected",
                target: path))
    }
}
