public import Foundation
public import HeraldCore
public import HeraldStore
import JWTKit

/// Issues and verifies user tokens: HS256 JWTs signed with a per-app secret, with `kid` in the
/// header and `sub` (user), `app`, `iat`, `exp` and `ep` (the user's token epoch) in the payload.
///
/// A token works only while its epoch is the user's current one, read from the store on every check
/// (never cached, so a revocation or an erasure holds on every node of a cluster at once): revoking
/// a user's tokens, erasing the user, or creating the same id again after an erasure ends every token
/// issued before.
///
/// An actor because it caches one `JWTKeyCollection` per `kid` (keys are unsealed from the store once,
/// not on every request) and that cache is shared by all requests.
public actor UserTokens {
    private struct Payload: JWTPayload {
        var sub: SubjectClaim
        var app: String
        var iat: IssuedAtClaim
        var exp: ExpirationClaim
        /// The user's token epoch when it was issued; absent in tokens from before epochs (they match "").
        var ep: String?

        /// Expiry is checked by `UserTokens.verify` against the injected clock, not here.
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    private let store: any AppStore & ErasureStore & UserStore
    private let now: @Sendable () -> Date
    private var keys: [String: (app: AppID, collection: JWTKeyCollection)] = [:]

    public init(store: any AppStore & ErasureStore & UserStore, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.now = now
    }

    /// A new token for `user`, valid for `ttlSeconds`.
    public func issue(for user: UserID, in app: AppID, ttlSeconds: Int64) async throws -> (token: String, expiresAt: Date) {
        guard let epoch = try await store.tokenEpoch(of: user, in: app) else { throw HeraldError.notFound(resource: "user") }
        let key = try await store.currentTokenKey(of: app)
        let collection = try await collection(for: key)
        let issuedAt = WireTime.truncated(now())
        let expiresAt = issuedAt.addingTimeInterval(TimeInterval(ttlSeconds))
        let payload = Payload(
            sub: .init(value: user.rawValue), app: app.rawValue, iat: .init(value: issuedAt), exp: .init(value: expiresAt), ep: epoch.isEmpty ? nil : epoch)
        let token = try await collection.sign(payload, kid: JWKIdentifier(string: key.kid))
        return (token, expiresAt)
    }

    /// The user a token speaks for and when it expires.
    /// - Throws: `HeraldError.unauthenticated` for anything but a valid, unexpired token of a known key,
    ///   for a user who exists (`malformed`, `unknown`, then, for a genuine token only, `expired` or `revoked`); the store's own error when the store could not be asked (that is not a
    ///   rejection: it must not count against the client as a failed authentication).
    public func verify(_ token: String) async throws -> (caller: Caller, expiresAt: Date) {
        guard token.utf8.count <= 4096, let kid = Self.kid(of: token) else { throw HeraldError.unauthenticated(.malformed) }
        let collection: JWTKeyCollection
        let app: AppID
        if let cached = keys[kid] {
            (app, collection) = cached
        } else {
            guard let key = try await store.tokenKey(kid: kid) else { throw HeraldError.unauthenticated(.unknown) }
            collection = try await self.collection(for: key)
            app = key.app
        }
        guard let payload = try? await collection.verify(token, as: Payload.self),
            payload.app == app.rawValue,
            let user = UserID(rawValue: payload.sub.value),
            // No token lives longer than tokens are issued for, even one minted with a leaked key.
            payload.exp.value.timeIntervalSince(payload.iat.value) <= TimeInterval(Limits.maxTokenTTLSeconds)
        else {
            throw HeraldError.unauthenticated(.unknown)
        }
        guard payload.exp.value > now() else { throw HeraldError.unauthenticated(.expired) }
        // An erased user's tokens stop working at once, not when they expire; so do revoked ones.
        guard try await store.userIsActive(user, in: app), let epoch = try await store.tokenEpoch(of: user, in: app),
            ConstantTime.isEqual(Array(epoch.utf8), Array((payload.ep ?? "").utf8))
        else { throw HeraldError.unauthenticated(.revoked) }
        return (.user(app, user), payload.exp.value)
    }

    private func collection(for key: TokenSigningKey) async throws -> JWTKeyCollection {
        if let cached = keys[key.kid] { return cached.collection }
        let collection = JWTKeyCollection()
        await collection.add(hmac: HMACKey(key: .init(data: key.secret)), digestAlgorithm: .sha256, kid: JWKIdentifier(string: key.kid))
        keys[key.kid] = (key.app, collection)
        return collection
    }

    /// The `kid` of a compact JWS header, read without trusting anything else in the token.
    private static func kid(of token: String) -> String? {
        // Herald's own parser, not `JSONDecoder` (5% of a socket's connect, issue 19).
        guard let headerPart = token.split(separator: ".", omittingEmptySubsequences: false).first,
            let data = Data(base64URLEncoded: String(headerPart)),
            case .object(let header)? = try? JSONValue.parse(data),
            case .string(let kid)? = header["kid"]
        else { return nil }
        return kid
    }
}
