import HTTPTypes
import HeraldCore
import HeraldStore
import Hummingbird

/// Reads `Authorization: Bearer <credential>`: an API key (`hk_...`) makes the caller the app's
/// platform, a user token makes it that user. A request without the header goes on unauthenticated
/// (routes that need a caller say 401); a header with a bad credential is 401 at once.
///
/// Failed credentials count against the client's address (`CredentialRejections`): an address over
/// its budget gets 429 before its credential is looked at, so guessing costs the store nothing.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = HeraldRequestContext
    let store: any AppStore
    let tokens: UserTokens
    let rejections: CredentialRejections
    /// The header the operator's proxy puts the client's address in (`--client-address-header`).
    let clientAddressHeader: HTTPField.Name?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.origin = request.headers[.origin]
        context.clientAddress = ClientAddress.of(peer: context.peerAddress, forwarded: clientAddressHeader.flatMap { request.headers[$0] })
        guard let header = request.headers[.authorization] else {
            return try await next(request, context)
        }
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else { throw HeraldError.unauthenticated(.malformed) }
        if let wait = rejections.retryAfter(for: context.clientAddress) { throw HeraldError.rateLimited(retryAfterSeconds: wait) }
        let credential = Self.trimmingBlanks(header.dropFirst(7))
        if credential.hasPrefix("hk_") {
            let key = APIKey(token: credential)
            guard let key, let app = try await store.authenticate(key) else {
                context.logger.info("rejected API key")
                rejections.record(.apiKey(keyID: key?.keyID), from: context.clientAddress, path: request.uri.path)
                throw HeraldError.unauthenticated(key == nil ? .malformed : .unknown)
            }
            context.caller = .platform(app)
            context.apiKeyID = key.keyID
        } else {
            do {
                let (caller, expiry) = try await tokens.verify(credential)
                context.caller = caller
                context.credentialExpiry = expiry
            } catch HeraldError.unauthenticated(let why) {
                rejections.record(.userToken, from: context.clientAddress, path: request.uri.path)
                throw HeraldError.unauthenticated(why)
            }
        }
        context.logger[metadataKey: "app_id"] = "\(context.caller!.appID)"
        context.notes.app = context.caller!.appID
        return try await next(request, context)
    }

    /// `text` without the blanks around it: what `trimmingCharacters(in: .whitespaces)` did (tab,
    /// Unicode's space separators and, as Foundation has it, U+200B), without Foundation's `NSString`
    /// bridge on every request. `CredentialTrimTests` compares the two.
    static func trimmingBlanks(_ text: Substring) -> String {
        func isBlank(_ scalar: Unicode.Scalar) -> Bool {
            scalar == "\t" || scalar == "\u{200B}" || scalar.properties.generalCategory == .spaceSeparator
        }
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isBlank($0) }), let last = scalars.lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(scalars[first...last])
    }
}
