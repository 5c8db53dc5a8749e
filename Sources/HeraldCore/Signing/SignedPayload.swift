public import Crypto
public import Foundation

/// Verification of the `jws` that inbox items and business messages carry. Used by clients (the SDK)
/// and by the server's step-up check, which hashes the exact payload bytes.
public enum SignedPayload {
    /// The payload bytes of a compact JWS, if it is well formed (not checking the signature).
    public static func payload(of jws: String) -> Data? {
        let parts = jws.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        return Data(base64URLEncoded: String(parts[1]))
    }

    /// The verified payload bytes, or nil when the JWS is malformed, names no key of `keys`, uses another
    /// algorithm, or its signature does not verify.
    public static func verify(_ jws: String, keys: JWKSet) -> Data? {
        let parts = jws.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let headerData = Data(base64URLEncoded: parts[0]), let payload = Data(base64URLEncoded: parts[1]),
            let signature = Data(base64URLEncoded: parts[2]),
            case .object(let header)? = try? JSONValue.parse(headerData),
            header["alg"] == .string("EdDSA"), case .string(let kid)? = header["kid"],
            let jwk = keys.keys.first(where: { $0.kid == kid }), let x = Data(base64URLEncoded: jwk.x),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: x)
        else { return nil }
        return key.isValidSignature(signature, for: Data((parts[0] + "." + parts[1]).utf8)) ? payload : nil
    }

    /// base64url(SHA-256(payload)): the `payloadHash` a step-up signature covers.
    public static func hash(of payload: Data) -> String {
        Data(SHA256.hash(data: payload)).base64URLEncodedString()
    }
}
