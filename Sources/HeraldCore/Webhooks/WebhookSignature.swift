public import Crypto
public import Foundation

/// Standard Webhooks signing: `webhook-signature: v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>`,
/// where the key is the base64 part of the `whsec_...` secret.
public struct WebhookSignature: Sendable {
    public let secret: String

    public init(secret: String) { self.secret = secret }

    /// A new secret: `whsec_` and 32 random bytes in base64.
    public static func generateSecret() -> String {
        "whsec_" + Data(RandomToken.bytes(32)).base64EncodedString()
    }

    public func sign(id: String, timestamp: Int64, body: Data) -> String {
        let key = SymmetricKey(data: Data(base64Encoded: String(secret.dropFirst("whsec_".count))) ?? Data(secret.utf8))
        var message = Data("\(id).\(timestamp).".utf8)
        message.append(body)
        return "v1," + Data(HMAC<SHA256>.authenticationCode(for: message, using: key)).base64EncodedString()
    }
}
