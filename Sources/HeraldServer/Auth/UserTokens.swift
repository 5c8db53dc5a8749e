public import Foundation
public import HeraldCore
public import HeraldStore
import Crypto
import JWTKit
import Synchronization

/// Issues and verifies user tokens: HS256 JWTs signed with a per-app secret, with `kid` in the
/// header and `sub` (user), `app`, `iat`, `exp` and `ep` (the user's token epoch) in the payload.
///
/// A token works only while its epoch is the user's current one (`UserStore.tokenEpoch`, which holds
/// on every node at once): revoking a user's tokens, erasing the user, or creating the same id again
/// after an erasure ends every token issued before.
///
/// JWTKit issues tokens. Verification is Herald's, on swift-crypto's HMAC (compared in constant
/// time) and Herald's fuzzed JSON parser, because JWTKit verifies only through an actor (two executor
/// hops and `JSONDecoder` per token) and the realtime gateway checks a socket's token on its event
/// loop, without a task (`verifiedInMemory`, issue 19). Signing keys are unsealed from the store once
/// and kept (a `Mutex`, not an actor: a check must not wait for another).
public final class UserTokens: Sendable {
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

    /// A token key, unsealed: its secret for checking, JWTKit's collection for signing.
    private struct Key: Sendable {
        var app: AppID
        var secret: SymmetricKey
        var collection: JWTKeyCollection
    }

    /// What a token's signature vouches for, before its epoch is checked.
    private struct Claims {
        var app: AppID
        var user: UserID
        var expiresAt: Date
        var epoch: String
    }

    private let store: any AppStore & ErasureStore & UserStore
    private let now: @Sendable () -> Date
    private let keys = Mutex<[String: Key]>([:])

    public init(store: any AppStore & ErasureStore & UserStore, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.now = now
    }

    /// A new token for `user`, valid for `ttlSeconds`.
    public func issue(for user: UserID, in app: AppID, ttlSeconds: Int64) async throws -> (token: String, expiresAt: Date) {
        guard let epoch = try await store.tokenEpoch(of: user, in: app) else { throw HeraldError.notFound(resource: "user") }
        let stored = try await store.currentTokenKey(of: app)
        let key = try await self.key(for: stored)
        let issuedAt = WireTime.truncated(now())
        let expiresAt = issuedAt.addingTimeInterval(TimeInterval(ttlSeconds))
        let payload = Payload(
            sub: .init(value: user.rawValue), app: app.rawValue, iat: .init(value: issuedAt), exp: .init(value: expiresAt), ep: epoch.isEmpty ? nil : epoch)
        let token = try await key.collection.sign(payload, kid: JWKIdentifier(string: stored.kid))
        return (token, expiresAt)
    }

    /// The user a token speaks for and when it expires.
    /// - Throws: `HeraldError.unauthenticated` for anything but a valid, unexpired token of a known key,
    ///   for a user who exists (`malformed`, `unknown`, then, for a genuine token only, `expired` or `revoked`); the store's own error when the store could not be asked (that is not a
    ///   rejection: it must not count against the client as a failed authentication).
    public func verify(_ token: String) async throws -> (caller: Caller, expiresAt: Date) {
        let parts = try Self.parts(of: token)
        let key: Key
        if let cached = keys.withLock({ $0[parts.kid] }) {
            key = cached
        } else {
            guard let stored = try await store.tokenKey(kid: parts.kid) else { throw HeraldError.unauthenticated(.unknown) }
            key = try await self.key(for: stored)
        }
        let claims = try claims(of: parts, key: key)
        // An erased user's tokens stop working at once, not when they expire; so do revoked ones.
        guard try await store.userIsActive(claims.user, in: claims.app), let epoch = try await store.tokenEpoch(of: claims.user, in: claims.app),
            ConstantTime.isEqual(epoch.utf8, claims.epoch.utf8)
        else { throw HeraldError.unauthenticated(.revoked) }
        return (.user(claims.app, claims.user), claims.expiresAt)
    }

    /// What `verify` answers, when everything it needs is already in memory (the token's key, and the
    /// user's epoch as the store knows it without a read); nil for any token `verify` would refuse, and
    /// whenever something would have to be read. Never waits, so an event loop may call it.
    public func verifiedInMemory(_ token: String) -> (caller: Caller, expiresAt: Date)? {
        guard let parts = try? Self.parts(of: token), let key = keys.withLock({ $0[parts.kid] }), let claims = try? claims(of: parts, key: key),
            let epoch = store.cachedTokenEpoch(ofActive: claims.user, in: claims.app),
            ConstantTime.isEqual(epoch.utf8, claims.epoch.utf8)
        else { return nil }
        return (.user(claims.app, claims.user), claims.expiresAt)
    }

    private func key(for stored: TokenSigningKey) async throws -> Key {
        if let cached = keys.withLock({ $0[stored.kid] }) { return cached }
        let collection = JWTKeyCollection()
        await collection.add(hmac: HMACKey(key: .init(data: stored.secret)), digestAlgorithm: .sha256, kid: JWKIdentifier(string: stored.kid))
        let key = Key(app: stored.app, secret: SymmetricKey(data: stored.secret), collection: collection)
        keys.withLock { $0[stored.kid] = key }
        return key
    }

    /// A compact JWS split into what is checked: the header's `kid` (read without trusting anything else
    /// in the token), the signed part, the signature and the payload, each decoded from base64url.
    private struct Parts {
        var kid: String
        var signed: Substring.UTF8View
        var signature: Data
        var payload: Data
    }

    private static func parts(of token: String) throws(HeraldError) -> Parts {
        // Split on the UTF-8 bytes: `split` over characters was a fifth of a token check.
        let bytes = token.utf8
        let dot = UInt8(ascii: ".")
        guard bytes.count <= 4096, let first = bytes.firstIndex(of: dot), let second = bytes[bytes.index(after: first)...].firstIndex(of: dot),
            !bytes[bytes.index(after: second)...].contains(dot),
            let headerBytes = Data(base64URLEncoded: String(token[..<first])),
            case .object(let header)? = try? JSONValue.parse(headerBytes),
            header["alg"] == .string("HS256"),
            case .string(let kid)? = header["kid"],
            let payload = Data(base64URLEncoded: String(token[bytes.index(after: first)..<second])),
            let signature = Data(base64URLEncoded: String(token[bytes.index(after: second)...]))
        else { throw HeraldError.unauthenticated(.malformed) }
        return Parts(kid: kid, signed: token[..<second].utf8, signature: signature, payload: payload)
    }

    /// The claims of a token whose signature `key` made: `unknown` for a bad signature or payload,
    /// `expired` past its expiry.
    private func claims(of parts: Parts, key: Key) throws(HeraldError) -> Claims {
        guard HMAC<SHA256>.isValidAuthenticationCode(parts.signature, authenticating: Data(parts.signed), using: key.secret),
            case .object(let payload)? = try? JSONValue.parse(parts.payload),
            payload["app"] == .string(key.app.rawValue),
            case .string(let subject)? = payload["sub"], let user = UserID(rawValue: subject),
            case .number(let issuedAt)? = payload["iat"], case .number(let expiry)? = payload["exp"], issuedAt.isFinite, expiry.isFinite
        else { throw HeraldError.unauthenticated(.unknown) }
        let epoch: String
        switch payload["ep"] {
        case nil, .null?: epoch = ""
        case .string(let value)?: epoch = value
        default: throw HeraldError.unauthenticated(.unknown)
        }
        // No token lives longer than tokens are issued for, even one minted with a leaked key: nor one
        // issued in the future (a minute of clock difference between nodes allowed), whose lifetime
        // would only start to count then.
        let current = now().timeIntervalSince1970
        guard expiry - issuedAt <= TimeInterval(Limits.maxTokenTTLSeconds), issuedAt <= current + 60 else { throw HeraldError.unauthenticated(.unknown) }
        let expiresAt = Date(timeIntervalSince1970: expiry)
        guard expiresAt > now() else { throw HeraldError.unauthenticated(.expired) }
        return Claims(app: key.app, user: user, expiresAt: expiresAt, epoch: epoch)
    }
}
