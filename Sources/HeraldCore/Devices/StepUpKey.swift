public import Crypto
public import Foundation

/// A device's P-256 public key for step-up approvals, registered as a JWK (`kty` EC, `crv` P-256).
/// The private half stays on the device (the Secure Enclave on iPhones, unlocked by biometrics).
public struct StepUpKey: Codable, Equatable, Sendable {
    public var x: String
    public var y: String

    public init?(jwk: JSONValue) {
        guard case .object(let fields) = jwk, fields["kty"] == .string("EC"), fields["crv"] == .string("P-256"),
            case .string(let x)? = fields["x"], case .string(let y)? = fields["y"],
            let xBytes = Data(base64URLEncoded: x), let yBytes = Data(base64URLEncoded: y), xBytes.count == 32, yBytes.count == 32,
            (try? P256.Signing.PublicKey(rawRepresentation: xBytes + yBytes)) != nil
        else { return nil }
        // Stored in one encoding whatever the JWK used (padding), so the thumbprint is the key's, not the text's.
        self.x = xBytes.base64URLEncodedString()
        self.y = yBytes.base64URLEncodedString()
    }

    public init(publicKey: P256.Signing.PublicKey) {
        let raw = publicKey.rawRepresentation
        x = raw.prefix(32).base64URLEncodedString()
        y = raw.suffix(32).base64URLEncodedString()
    }

    /// The JWK members, so it encodes as a JWK.
    enum CodingKeys: String, CodingKey { case kty, crv, x, y }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        x = try container.decode(String.self, forKey: .x)
        y = try container.decode(String.self, forKey: .y)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("EC", forKey: .kty)
        try container.encode("P-256", forKey: .crv)
        try container.encode(x, forKey: .x)
        try container.encode(y, forKey: .y)
    }

    /// The RFC 7638 thumbprint: base64url(SHA-256) of the JWK's required members in lexicographic order,
    /// without white space. What a bank shows its customer (or its support staff) to name the key.
    public var thumbprint: String {
        Data(SHA256.hash(data: Data(#"{"crv":"P-256","kty":"EC","x":"\#(x)","y":"\#(y)"}"#.utf8))).base64URLEncodedString()
    }

    /// Whether `signature` (raw r‖s, 64 bytes) is this key's ECDSA P-256/SHA-256 signature of `message`.
    public func isValidSignature(_ signature: Data, for message: Data) -> Bool {
        guard let xBytes = Data(base64URLEncoded: x), let yBytes = Data(base64URLEncoded: y),
            let key = try? P256.Signing.PublicKey(rawRepresentation: xBytes + yBytes),
            let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature)
        else { return false }
        return key.isValidSignature(parsed, for: message)
    }
}
