public import Foundation
import HeraldCore
import JWTKit

/// OAuth 2.0 access tokens for FCM HTTP v1, from a service account (RFC 7523 JWT bearer grant).
///
/// The grant is an RS256 JWT (`iss` the account's e-mail, `scope` firebase.messaging, `aud` the token
/// endpoint, one hour long) posted to the token endpoint; the access token it returns is cached and
/// reused until five minutes before it expires, or until FCM answers 401.
public actor FCMAccessTokens {
    struct GrantClaims: JWTPayload {
        var iss: IssuerClaim
        var scope: String
        var aud: AudienceClaim
        var iat: IssuedAtClaim
        var exp: ExpirationClaim

        func verify(using algorithm: some JWTAlgorithm) throws {}
    }

    public struct Failure: Error, CustomStringConvertible {
        public var status: Int?
        public var description: String
    }

    public static let scope = "https://www.googleapis.com/auth/firebase.messaging"
    static let refreshMargin: TimeInterval = 5 * 60

    private let http: PushHTTPClient
    /// `--fcm-token-url`: replaces the service account's `token_uri`.
    private let tokenURL: URL?
    private let now: @Sendable () -> Date
    private var cache: [String: (privateKey: String, token: String, expiresAt: Date)] = [:]

    public init(http: PushHTTPClient, tokenURL: URL?, now: @escaping @Sendable () -> Date) {
        self.http = http
        self.tokenURL = tokenURL
        self.now = now
    }

    public func token(for account: FCMServiceAccount) async throws -> String {
        let time = now()
        if let cached = cache[account.clientEmail], cached.privateKey == account.privateKey, cached.expiresAt.addingTimeInterval(-Self.refreshMargin) > time {
            return cached.token
        }
        let (token, expiresAt) = try await requestToken(for: account, at: time)
        cache[account.clientEmail] = (account.privateKey, token, expiresAt)
        return token
    }

    public func invalidate(_ account: FCMServiceAccount) {
        cache[account.clientEmail] = nil
    }

    private func requestToken(for account: FCMServiceAccount, at time: Date) async throws -> (String, Date) {
        guard let url = tokenURL ?? URL(string: account.tokenURI) else { throw Failure(status: nil, description: "bad token_uri") }
        let key = try Insecure.RSA.PrivateKey(pem: account.privateKey)
        let keys = await JWTKeyCollection().add(rsa: key, digestAlgorithm: .sha256, kid: account.privateKeyId.map { JWKIdentifier(string: $0) })
        let claims = GrantClaims(
            iss: .init(value: account.clientEmail), scope: Self.scope, aud: .init(value: url.absoluteString), iat: .init(value: time),
            exp: .init(value: time.addingTimeInterval(3600)))
        let assertion = try await keys.sign(claims, kid: account.privateKeyId.map { JWKIdentifier(string: $0) })
        let form = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=\(assertion)"
        let response = try await http.send(.POST, url, headers: [("content-type", "application/x-www-form-urlencoded")], body: Data(form.utf8))
        guard response.status == 200, case .object(let fields)? = try? JSONValue.parse(response.body), case .string(let token)? = fields["access_token"] else {
            throw Failure(status: response.status, description: "token endpoint answered \(response.status)")
        }
        var lifetime: TimeInterval = 3600
        if case .number(let seconds)? = fields["expires_in"] { lifetime = seconds }
        return (token, time.addingTimeInterval(lifetime))
    }
}
