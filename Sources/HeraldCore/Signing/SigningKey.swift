public import Crypto
public import Foundation

/// One of an app's Ed25519 keys for the verified-sender signature. The private half never leaves the
/// server (it is stored sealed with the app's data key); the public half is published as a JWK.
public struct SigningKey: Sendable {
    public let kid: String
    public let createdAt: Date
    private let privateKey: Curve25519.Signing.PrivateKey

    public init(kid: String, rawRepresentation: Data, createdAt: Date) throws {
        self.kid = kid
        self.createdAt = createdAt
        self.privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: rawRepresentation)
    }

    public static func generate(createdAt: Date) -> SigningKey {
        try! SigningKey(kid: "sk_" + RandomToken.base32(byteCount: 10), rawRepresentation: Curve25519.Signing.PrivateKey().rawRepresentation, createdAt: createdAt)
    }

    /// The 32 private bytes, for sealing into the store.
    public var rawRepresentation: Data { privateKey.rawRepresentation }

    public var publicJWK: PublicJWK {
        PublicJWK(kid: kid, x: privateKey.publicKey.rawRepresentation.base64URLEncodedString())
    }

    /// A compact JWS (RFC 7515) over exactly `payload`: `{"alg":"EdDSA","kid":...}` as header.
    ///
    /// Built by hand rather than with JWTKit because the payload is not a JWT claims set: it is the
    /// JSON of what the customer sees, and its exact bytes matter (step-up signatures hash them).
    public func sign(payload: Data) -> String {
        Self.jws(kid: kid, payload: payload, signature: signature(for: payload))
    }

    /// The signature bytes of the JWS over `payload`: what a store keeps when the payload can be built
    /// again from what it already holds (an inbox item of a shared notification), so the JWS need not
    /// be stored whole.
    public func signature(for payload: Data) -> Data {
        try! privateKey.signature(for: Data(Self.signingInput(kid: kid, payload: payload).utf8))
    }

    /// The compact JWS `sign(payload:)` gives, put together from a signature made earlier.
    public static func jws(kid: String, payload: Data, signature: Data) -> String {
        signingInput(kid: kid, payload: payload) + "." + signature.base64URLEncodedString()
    }

    private static func signingInput(kid: String, payload: Data) -> String {
        let header = JSONValue.object(["alg": .string("EdDSA"), "kid": .string(kid)]).canonicalData()
        return header.base64URLEncodedString() + "." + payload.base64URLEncodedString()
    }
}

/// An Ed25519 public key as a JWK (RFC 8037): what `GET /v1/apps/{appId}/keys` publishes.
public struct PublicJWK: Codable, Equatable, Sendable {
    public var kty = "OKP"
    public var crv = "Ed25519"
    public var alg = "EdDSA"
    public var use = "sig"
    public var kid: String
    public var x: String

    public init(kid: String, x: String) {
        self.kid = kid
        self.x = x
    }
}

/// `{"keys": [...]}`, newest key first.
public struct JWKSet: Codable, Equatable, Sendable {
    public var keys: [PublicJWK]

    public init(keys: [PublicJWK]) { self.keys = keys }
}
