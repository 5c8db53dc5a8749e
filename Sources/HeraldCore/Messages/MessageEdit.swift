public import Foundation

/// The validated body of `PATCH /v1/channels/{id}/messages/{messageId}`: the new content replaces
/// the old one entirely.
public struct MessageEdit: Equatable, Sendable {
    public var content: MessageContent

    public init(content: MessageContent) { self.content = content }

    public init(body: Data) throws(HeraldError) {
        var reader = try ObjectReader(body: body)
        let content = MessageContent(reading: &reader)
        try reader.finish()
        self.content = content!
    }
}
