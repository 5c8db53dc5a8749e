public import Crypto
public import Foundation
import HeraldCore
import JWTKit

/// Voluntary application server identification for Web Push (RFC 8292).
///
/// Each app has its own P-256 key: browsers bind a subscription to the public half (the
/// `applicationServerKey` of `GET /v1/apps/{appId}/webpush`), so a push service accepts pushes for it
/// only with a JWT signed by the private half. The JWT names the push service's origin (`aud`), expires
/// within 24 hours as RFC 8292 §2 requires (here 12), and gives a contact (`sub`).
public struct VAPID: Sendable {
    struct Claims: JWTPayload {
        var aud: AudienceClaim
        var exp: ExpirationClaim
        var sub: SubjectClaim

        func verify(using algorithm: some JWTAlgorithm) throws {}
    }

    public let key: P256.Signing.PrivateKey
    public let subject: String
    public static let lifetime: TimeInterval = 12 * 3600

    public init(key: P256.Signing.PrivateKey, subject: String = "mailto:push@herald.invalid") {
        self.key = key
        self.subject = subject
    }

    /// The public key as browsers take it: the uncompressed point, base64url.
    public var publicKeyBase64URL: String { key.publicKey.x963Representation.base64URLEncodedString() }

    /// The `Authorization` header value for a push to `endpoint`: `vapid t=<JWT>, k=<public key>`.
    public func authorization(for endpoint: URL, now: Date) async throws -> String {
        guard let scheme = endpoint.scheme, let host = endpoint.host else { throw WebPushEncryption.Failure.malformedMessage }
        let origin = "\(scheme)://\(host)" + (endpoint.port.map { ":\($0)" } ?? "")
        let keys = await JWTKeyCollection().add(ecdsa: try ES256PrivateKey(backing: key))
        let claims = Claims(aud: .init(value: origin), exp: .init(value: now.addingTimeInterval(Self.lifetime)), sub: .init(value: subject))
        let token = try await keys.sign(claims)
        return "vapid t=\(token), k=\(publicKeyBase64URL)"
    }
}
