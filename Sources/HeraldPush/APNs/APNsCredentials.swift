public import Foundation
public import HeraldCore

/// An app's APNs token-based credentials (`PUT /v1/push/apns`): the .p8 signing key Apple issued to
/// its team. Stored sealed with the app's data key; `privateKey` never leaves Herald.
public struct APNsCredentials: Codable, Equatable, Sendable {
    public enum Environment: String, Codable, Sendable {
        case production, sandbox
    }

    public var teamId: String
    public var keyId: String
    /// The PEM text of the .p8 file (a PKCS#8 P-256 private key).
    public var privateKey: String
    /// The app's bundle id, the `apns-topic`.
    public var topic: String
    public var environment: Environment

    public init(teamId: String, keyId: String, privateKey: String, topic: String, environment: Environment) {
        self.teamId = teamId
        self.keyId = keyId
        self.privateKey = privateKey
        self.topic = topic
        self.environment = environment
    }

    /// Parses and checks a `PUT /v1/push/apns` body; the key must be a P-256 private key.
    /// - Throws: `HeraldError.invalid` naming every bad field.
    public init(body: Data) throws(HeraldError) {
        var reader = try ObjectReader(body: body)
        let teamId = reader.string("teamId", required: true, maxLength: 10, minLength: 10)
        let keyId = reader.string("keyId", required: true, maxLength: 10, minLength: 10)
        let privateKey = reader.string("privateKey", required: true, maxLength: 4_096)
        let topic = reader.string("topic", required: true, maxLength: 255, minLength: 1)
        let environmentText = reader.string("environment") ?? "production"
        let environment = Environment(rawValue: environmentText)
        if environment == nil { reader.report("environment", .invalidValue, detail: "production or sandbox") }
        for (field, value) in [("teamId", teamId), ("keyId", keyId)] {
            if let value, !value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
                reader.report(field, .invalidValue, detail: "10 letters or digits, as Apple shows it")
            }
        }
        if let privateKey, (try? APNsTokenSigner.signingKey(pem: privateKey)) == nil {
            reader.report("privateKey", .invalidValue, detail: "the PEM text of the .p8 key (a P-256 private key)")
        }
        try reader.finish()
        self.init(teamId: teamId!, keyId: keyId!, privateKey: privateKey!, topic: topic!, environment: environment!)
    }

    /// What `GET /v1/push/apns` shows: everything but the key.
    public var summary: [String: String] {
        ["teamId": teamId, "keyId": keyId, "topic": topic, "environment": environment.rawValue]
    }
}
