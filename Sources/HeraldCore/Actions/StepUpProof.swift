import Crypto
public import Foundation

/// What a step-up action carries besides its input: the device, the one-time challenge, and the
/// device's signature over exactly what is approved (API.md, "Actions").
///
/// The signed text binds the item, the action, the challenge, the hash of the item's signed payload and
/// the hash of the input sent with the action, so an approval cannot be replayed, moved to another item,
/// obtained for content other than what the customer saw (PSD2 dynamic linking), or reused with another
/// answer (a dispute reason, a choice) than the one the customer confirmed.
public struct StepUpProof: Equatable, Sendable {
    public var deviceID: DeviceID
    public var challenge: String
    /// Raw r‖s, 64 bytes.
    public var signature: Data

    public init(deviceID: DeviceID, challenge: String, signature: Data) {
        self.deviceID = deviceID
        self.challenge = challenge
        self.signature = signature
    }

    /// The exact bytes the device signs (`herald-action-v2`; v1, which did not bind the input, is refused).
    public static func message(item: InboxItemID, action: String, challenge: String, payloadHash: String, inputHash: String) -> Data {
        Data("herald-action-v2\n\(item.rawValue)\n\(action)\n\(challenge)\n\(payloadHash)\n\(inputHash)".utf8)
    }

    /// base64url(SHA-256) of the RFC 8785 canonical JSON of the action's `input` object (`{"value": ...}`),
    /// or the empty string when the action is sent without input.
    public static func inputHash(of input: JSONValue?) -> String {
        guard let input else { return "" }
        return Data(SHA256.hash(data: CanonicalJSON.data(input))).base64URLEncodedString()
    }
}

/// The body of `POST /v1/me/inbox/{itemId}/actions/{actionId}`, checked against the action.
public struct ActionRequest: Equatable, Sendable {
    /// The validated input: `{"value": ...}` as the action's input asks, or nil when it takes none.
    public var input: JSONValue?
    public var proof: StepUpProof?

    public init(input: JSONValue? = nil, proof: StepUpProof? = nil) {
        self.input = input
        self.proof = proof
    }

    /// - Throws: `invalid` for input that does not fit the action, or a step-up action without its proof.
    public init(body: Data, action: NotificationAction) throws(HeraldError) {
        var reader = try ObjectReader(body: body)
        var input: JSONValue?
        if let value = reader.value("input") {
            if var fields = try? ObjectReader(value, path: "input.") {
                input = Self.readValue(from: &fields, for: action)
                reader.absorb(fields)
            } else {
                reader.report("input", .wrongType, detail: "expected an object with value")
            }
        } else if action.input != nil {
            reader.report("input", .required, detail: "this action asks for input")
        }
        let deviceText = reader.string("deviceId"), challenge = reader.string("challenge", maxLength: 100)
        let signatureText = reader.string("signature", maxLength: 200)
        let deviceID = deviceText.flatMap(DeviceID.init(rawValue:))
        if deviceText != nil, deviceID == nil { reader.report("deviceId", .invalidIdentifier) }
        let signature = signatureText.flatMap { Data(base64URLEncoded: $0) }
        if signatureText != nil, signature?.count != 64 { reader.report("signature", .invalidValue, detail: "raw r‖s, 64 bytes, base64url") }
        if action.stepUp {
            for (field, value) in [("deviceId", deviceText), ("challenge", challenge), ("signature", signatureText)] where value == nil {
                reader.report(field, .required, detail: "this action needs a step-up signature")
            }
        } else if deviceText != nil || challenge != nil || signatureText != nil {
            reader.report("challenge", .invalidValue, detail: "this action needs no step-up")
        }
        try reader.finish()
        self.input = input
        if let deviceID, let challenge, let signature, signature.count == 64 { proof = StepUpProof(deviceID: deviceID, challenge: challenge, signature: signature) }
    }

    private static func readValue(from fields: inout ObjectReader, for action: NotificationAction) -> JSONValue? {
        guard let kind = action.input else {
            _ = fields.value("value")
            fields.report("value", .invalidValue, detail: "this action takes no input")
            return nil
        }
        switch kind {
        case .choice(let options):
            guard let choice = fields.string("value", required: true) else { return nil }
            guard options.contains(choice) else {
                fields.report("value", .invalidValue, detail: "one of: \(options.joined(separator: ", "))")
                return nil
            }
            return .object(["value": .string(choice)])
        case .rating:
            return fields.integer("value", required: true, range: 1...5).map { .object(["value": .number(Double($0))]) }
        case .text(let maxLength):
            return fields.string("value", required: true, maxLength: maxLength, minLength: 1).map { .object(["value": .string($0)]) }
        }
    }
}
