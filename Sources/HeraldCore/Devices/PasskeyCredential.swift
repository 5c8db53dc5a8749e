public import Crypto
public import Foundation

/// A passkey a browser enrolled to approve step-up actions (issue 22): registered like a device's
/// step-up key, pending until the business activates it. The page sends what
/// `navigator.credentials.create` returned: the credential's id (which `navigator.credentials.get`
/// then asks for), its public key as `getPublicKey()` gives it (SPKI DER, so no CBOR is read), the
/// algorithm (ES256, -7, the only one taken), and the RP id it was created for.
///
/// `{"credentialId": base64url, "publicKey": base64url SPKI, "algorithm": -7, "rpId": "acme-bank.example"}`
///
/// Without an attestation object (the choice: no CBOR), nothing here proves the key lives in an
/// authenticator: a holder of the customer's token could enrol a software key. That is why it is
/// pending until the business activates it after its own strong authentication of the customer, as a
/// device's step-up key is; activation, not enrolment, is what makes it trusted.
public struct PasskeyCredential: Equatable, Sendable {
    public let credentialID: Data
    public let publicKey: StepUpKey
    public let rpID: String

    /// WebAuthn's bounds on a credential id.
    public static let credentialIDBytes = 16...1_023
    public static let es256 = -7

    public init(credentialID: Data, publicKey: StepUpKey, rpID: String) {
        self.credentialID = credentialID
        self.publicKey = publicKey
        self.rpID = rpID
    }

    /// Reads the credential from `reader`, reporting every problem to it. The RP id must scope one of
    /// the app's allowed web origins (`realtime.allowedOrigins`): a passkey made for another site is
    /// refused here rather than failing every approval later.
    public static func read(_ reader: inout ObjectReader, allowedOrigins: [String]) -> PasskeyCredential? {
        let idText = reader.string("credentialId", required: true, maxLength: 1_400)
        let id = idText.flatMap { Data(base64URLEncoded: $0) }
        if idText != nil, !(id.map { credentialIDBytes.contains($0.count) } ?? false) {
            reader.report("credentialId", .invalidValue, detail: "base64url of 16 to 1,023 bytes")
        }
        let keyText = reader.string("publicKey", required: true, maxLength: 400)
        let key = keyText.flatMap { Data(base64URLEncoded: $0) }.flatMap { try? P256.Signing.PublicKey(derRepresentation: $0) }
        if keyText != nil, key == nil { reader.report("publicKey", .invalidValue, detail: "a P-256 public key as SubjectPublicKeyInfo DER, base64url (getPublicKey())") }
        let algorithm = reader.integer("algorithm", required: true, range: -65_535...65_535)
        if let algorithm, algorithm != Int64(es256) { reader.report("algorithm", .invalidValue, detail: "ES256 (-7)") }
        let rpID = reader.string("rpId", required: true, maxLength: 253)
        if let rpID, !allowedOrigins.contains(where: { PasskeyAssertion.isRelyingPartyID(rpID, for: $0) }) {
            reader.report("rpId", .invalidValue, detail: "the host of an allowed web origin (settings realtime.allowedOrigins), or a parent domain of it")
        }
        guard let id, credentialIDBytes.contains(id.count), let key, algorithm == Int64(es256), let rpID,
            allowedOrigins.contains(where: { PasskeyAssertion.isRelyingPartyID(rpID, for: $0) })
        else { return nil }
        return PasskeyCredential(credentialID: id, publicKey: StepUpKey(publicKey: key), rpID: rpID)
    }
}
