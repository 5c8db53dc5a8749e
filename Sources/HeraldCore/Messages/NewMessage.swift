public import Foundation

/// The validated body of `POST /v1/channels/{id}/messages`.
public struct NewMessage: Equatable, Sendable {
    public var content: MessageContent
    /// Only the Platform API may name a sender; absent means the business speaks as itself.
    public var sender: UserID?

    public init(content: MessageContent, sender: UserID? = nil) {
        self.content = content
        self.sender = sender
    }

    /// - Parameter allowsSender: whether `sender` is accepted (Platform API) or an unknown field (client API).
    public init(body: Data, allowsSender: Bool) throws(HeraldError) {
        var reader = try ObjectReader(body: body)
        let content = MessageContent(reading: &reader)
        if allowsSender, let raw = reader.string("sender") {
            sender = UserID(rawValue: raw)
            if sender == nil { reader.report("sender", .invalidIdentifier) }
        }
        try reader.finish()
        self.content = content!
    }
}
