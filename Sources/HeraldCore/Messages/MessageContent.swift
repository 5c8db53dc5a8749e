public import Foundation

/// What a send or an edit carries: text and an optional free-form `data` object. At least one of
/// them is present; both are within `Limits`.
public struct MessageContent: Equatable, Sendable {
    public var text: String
    public var data: [String: JSONValue]?

    public init(text: String, data: [String: JSONValue]? = nil) {
        self.text = text
        self.data = data
    }

    /// Reads `text` and `data` from `reader`, reporting problems there.
    init?(reading reader: inout ObjectReader) {
        let text = reader.string("text", maxLength: Limits.messageTextCharacters)
        let data = reader.object("data", maxBytes: Limits.messageDataBytes)
        if reader.problems.isEmpty, (text ?? "").isEmpty, data == nil {
            reader.report("text", .required, detail: "a message needs text or data")
        }
        guard reader.problems.isEmpty else { return nil }
        self.init(text: text ?? "", data: data)
    }

    /// The canonical bytes of the content and its sender, whose hash recognises a repeated idempotent
    /// send. Never stored: the store keeps a keyed hash of their digest (`IdempotencyKey`).
    public func canonicalBytes(sender: UserID?) -> Data {
        var object: [String: JSONValue] = ["text": .string(text)]
        if let data { object["data"] = .object(data) }
        if let sender { object["sender"] = .string(sender.rawValue) }
        return JSONValue.object(object).canonicalData()
    }
}
