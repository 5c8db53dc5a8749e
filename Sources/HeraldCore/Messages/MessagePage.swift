/// One page of a channel's history, ascending by seq.
public struct MessagePage: Codable, Equatable, Sendable {
    public var messages: [Message]
    /// Whether more messages exist beyond this page in the direction of the query.
    public var hasMore: Bool

    public init(messages: [Message], hasMore: Bool) {
        self.messages = messages
        self.hasMore = hasMore
    }
}
