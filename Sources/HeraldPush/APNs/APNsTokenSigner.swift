import Crypto
public import Foundation
import JWTKit

/// Makes and caches APNs provider tokens (ES256 JWTs: `kid` the key id, `iss` the team, `iat`).
///
/// Apple refuses tokens older than an hour and throttles (`TooManyProviderTokenUpdates`) a provider
/// that makes new ones more often than every 20 minutes, so one token per key is reused for 50
/// minutes and then replaced; `ExpiredProviderToken` replaces it at once.
public actor APNsTokenSigner {
    struct Claims: JWTPayload {
        var iss: IssuerClaim
        var iat: IssuedAtClaim

        func verify(using algorithm: some JWTAlgorithm) throws {}
    }

    public static let reuseInterval: TimeInterval = 50 * 60
    /// By team and key id; the key itself is kept to notice a replaced .p8 with the same id.
    private var tokens: [String: (privateKey: String, token: String, issuedAt: Date)] = [:]
    private let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date) {
        self.now = now
    }

    static func signingKey(pem: String) throws -> P256.Signing.PrivateKey {
        try P256.Signing.PrivateKey(pemRepresentation: pem)
    }

    /// The current token for these credentials, made anew when older than `reuseInterval`.
    public func token(for credentials: APNsCredentials) async throws -> String {
        let cacheKey = "\(credentials.teamId)/\(credentials.keyId)"
        let time = now()
        if let cached = tokens[cacheKey], cached.privateKey == credentials.privateKey, cached.issuedAt <= time,
            time.timeIntervalSince(cached.issuedAt) < Self.reuseInterval
        {
            return cached.token
        }
        let key = try ES256PrivateKey(backing: try Self.signingKey(pem: credentials.privateKey))
        let keys = await JWTKeyCollection().add(ecdsa: key, kid: JWKIdentifier(string: credentials.keyId))
        let token = try await keys.sign(Claims(iss: .init(value: credentials.teamId), iat: .init(value: time)), kid: JWKIdentifier(string: credentials.keyId))
        tokens[cacheKey] = (credentials.privateKey, token, time)
        return token
    }

    /// Drops the cached token (after `ExpiredProviderToken`), so the next push makes a new one.
    public func invalidate(_ credentials: APNsCredentials) {
        tokens["\(credentials.teamId)/\(credentials.keyId)"] = nil
    }
}
