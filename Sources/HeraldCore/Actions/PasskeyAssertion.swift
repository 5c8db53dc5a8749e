public import Crypto
public import Foundation

/// A passkey's approval of a step-up action in a browser (a WebAuthn assertion with ES256), checked
/// fully before anything is performed (issue 22, "Passkey step-up").
///
/// The WebAuthn challenge the page asks the passkey to sign is the SHA-256 of the exact
/// `herald-action-v2` text of the action (`StepUpProof.message`: item, action, Herald's one-time
/// challenge, payload hash, input hash), so a signature for one item, action, amount or answer proves
/// nothing about another, and cannot be replayed. (The authenticator shows none of it: what the customer
/// saw is what the page showed, which is why the page renders only the verified item.) What is checked
/// (WebAuthn Level 2, §7.2): the client data is a `webauthn.get` for exactly that challenge from one of
/// the app's allowed web origins (https, or http on localhost), not embedded cross-origin; the
/// authenticator data names the passkey's RP id, with user presence and (for a step-up) user
/// verification; the ES256 signature over the authenticator data and the client data's hash verifies
/// with the registered key; and only then, the signature counter moved forward (unless the
/// authenticator keeps none), so an unsigned assertion can never be taken for a cloned authenticator.
public struct PasskeyAssertion: Equatable, Sendable {
    public var authenticatorData: Data
    public var clientDataJSON: Data
    /// ECDSA P-256 with SHA-256, DER-encoded, as WebAuthn returns it.
    public var signature: Data

    public init(authenticatorData: Data, clientDataJSON: Data, signature: Data) {
        self.authenticatorData = authenticatorData
        self.clientDataJSON = clientDataJSON
        self.signature = signature
    }

    /// Why an assertion was refused (the problem, for logs and tests; the client sees a 403).
    public enum Failure: String, Error, Sendable {
        case malformedClientData, wrongType, wrongChallenge, wrongOrigin, crossOrigin
        case malformedAuthenticatorData, wrongRelyingParty, userNotPresent, userNotVerified, counterNotIncreased
        case malformedSignature, badSignature
    }

    /// What the assertion must match.
    public struct Expectation: Sendable {
        /// The `herald-action-v2` bytes of the action; the WebAuthn challenge is their SHA-256.
        public var message: Data
        /// The app's `realtime.allowedOrigins`, normalized.
        public var allowedOrigins: [String]
        /// The RP id the passkey was registered for.
        public var rpID: String
        public var requiresUserVerification: Bool
        /// The counter stored from the passkey's last assertion (0 before the first).
        public var storedSignCount: UInt32

        public init(message: Data, allowedOrigins: [String], rpID: String, requiresUserVerification: Bool, storedSignCount: UInt32) {
            self.message = message
            self.allowedOrigins = allowedOrigins
            self.rpID = rpID
            self.requiresUserVerification = requiresUserVerification
            self.storedSignCount = storedSignCount
        }
    }

    /// The WebAuthn challenge for an action's `herald-action-v2` bytes: what the page passes to
    /// `navigator.credentials.get`.
    public static func challenge(for message: Data) -> Data { Data(SHA256.hash(data: message)) }

    /// Checks the assertion; returns the signature counter to store for the passkey.
    public func verify(_ expected: Expectation, publicKey: P256.Signing.PublicKey) -> Result<UInt32, Failure> {
        guard case .object(let client)? = try? JSONValue.parse(clientDataJSON), case .string(let type)? = client["type"],
            case .string(let challengeText)? = client["challenge"], case .string(let origin)? = client["origin"]
        else { return .failure(.malformedClientData) }
        guard type == "webauthn.get" else { return .failure(.wrongType) }
        // The text itself, as browsers write it (base64url without padding): no other spelling of the bytes.
        guard challengeText == Self.challenge(for: expected.message).base64URLEncodedString() else { return .failure(.wrongChallenge) }
        guard let normalized = AppSettings.Realtime.normalizedOrigin(origin), Self.isSecure(normalized), expected.allowedOrigins.contains(normalized) else {
            return .failure(.wrongOrigin)
        }
        if case .bool(true)? = client["crossOrigin"] { return .failure(.crossOrigin) }
        guard let data = AuthenticatorData(authenticatorData) else { return .failure(.malformedAuthenticatorData) }
        guard data.rpIDHash == Data(SHA256.hash(data: Data(expected.rpID.utf8))) else { return .failure(.wrongRelyingParty) }
        guard data.isUserPresent else { return .failure(.userNotPresent) }
        guard data.isUserVerified || !expected.requiresUserVerification else { return .failure(.userNotVerified) }
        guard let ecdsa = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return .failure(.malformedSignature) }
        let signed = authenticatorData + Data(SHA256.hash(data: clientDataJSON))
        guard publicKey.isValidSignature(ecdsa, for: signed) else { return .failure(.badSignature) }
        // Signed by the passkey: a counter that does not move forward may be a cloned authenticator; one
        // that keeps none says 0 each time.
        guard (data.signCount == 0 && expected.storedSignCount == 0) || data.signCount > expected.storedSignCount else {
            return .failure(.counterNotIncreased)
        }
        return .success(data.signCount)
    }

    /// Whether `rpID` may scope a passkey used from `origin`: the origin's host itself, or a parent
    /// domain of it on a label boundary (`acme.example` for `https://app.acme.example`), as browsers allow;
    /// an IP address only as itself. Browsers also refuse public suffixes (`co.uk`, `github.io`), which
    /// needs the public suffix list Herald does not carry: such an RP id is refused by the browser at
    /// enrolment, so an honest page never sends one.
    public static func isRelyingPartyID(_ rpID: String, for origin: String) -> Bool {
        guard let normalized = AppSettings.Realtime.normalizedOrigin(origin), isSecure(normalized), let host = URLComponents(string: normalized)?.host,
            !rpID.isEmpty, rpID == rpID.lowercased(), !rpID.hasPrefix("."), !rpID.hasSuffix(".")
        else { return false }
        if host == rpID { return true }
        let isAddress = host.hasPrefix("[") || host.split(separator: ".").allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
        return !isAddress && host.hasSuffix("." + rpID) && rpID.contains(".")
    }

    /// WebAuthn's secure contexts: https, or http on the machine itself (a developer's page).
    static func isSecure(_ normalizedOrigin: String) -> Bool {
        guard let components = URLComponents(string: normalizedOrigin), let host = components.host else { return false }
        return components.scheme == "https" || ["localhost", "127.0.0.1", "[::1]"].contains(host)
    }
}
