import Crypto
public import Foundation

/// A Platform API key: `hk_<keyId>_<secret>`, the secret 256 random bits.
///
/// The store keeps the key id in clear (to find the row without comparing secrets in a database
/// index, whose timing would leak) and only the SHA-256 of the secret. A plain hash is enough:
/// the secret is random, not a password, so it cannot be guessed from its hash.
public struct APIKey: Sendable, Equatable {
    public let keyID: String
    public let secret: String

    /// The full key as shown once to the operator.
    public var token: String { "hk_\(keyID)_\(secret)" }

    public static func generate() -> APIKey {
        APIKey(keyID: RandomToken.base32(byteCount: 10), secret: RandomToken.base64URL(byteCount: 32))
    }

    private init(keyID: String, secret: String) {
        self.keyID = keyID
        self.secret = secret
    }

    /// Splits a presented key; nil when it does not have the shape of an API key.
    public init?(token: String) {
        guard token.hasPrefix("hk_"), token.utf8.count <= 128 else { return nil }
        let rest = token.dropFirst(3)
        guard let separator = rest.firstIndex(of: "_") else { return nil }
        let keyID = String(rest[..<separator])
        let secret = String(rest[rest.index(after: separator)...])
        guard keyID.count == 16, !secret.isEmpty else { return nil }
        self.init(keyID: keyID, secret: secret)
    }

    public var secretHash: Data { Data(SHA256.hash(data: Data(secret.utf8))) }

    /// Compares this key's secret with a stored hash in constant time.
    public func matches(hash: Data) -> Bool {
        ConstantTime.isEqual(secretHash, hash)
    }
}
