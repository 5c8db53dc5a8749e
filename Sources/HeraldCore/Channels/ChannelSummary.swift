/// A channel as one member sees it in `GET /v1/me/channels`.
public struct ChannelSummary: Codable, Equatable, Sendable {
    public var channel: Channel
    /// Messages after the member's read position that others sent and that are not deleted.
    public var unreadCount: Int
    /// The member's read position (highest seq they have read).
    public var lastReadSeq: Int64
    public var lastMessage: Message?

    public init(channel: Channel, unreadCount: Int, lastReadSeq: Int64, lastMessage: Message?) {
        self.channel = channel
        self.unreadCount = unreadCount
        self.lastReadSeq = lastReadSeq
        self.lastMessage = lastMessage
    }

    enum CodingKeys: String, CodingKey {
        case unreadCount, lastReadSeq, lastMessage
    }

    /// Flattened on the wire: the channel's fields next to `unreadCount` and `lastMessage`.
    public init(from decoder: any Decoder) throws {
        channel = try Channel(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        unreadCount = try container.decode(Int.self, forKey: .unreadCount)
        lastReadSeq = try container.decode(Int64.self, forKey: .lastReadSeq)
        lastMessage = try container.decodeIfPresent(Message.self, forKey: .lastMessage)
    }

    public func encode(to encoder: any Encoder) throws {
        try channel.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(unreadCount, forKey: .unreadCount)
        try container.encode(lastReadSeq, forKey: .lastReadSeq)
        try container.encodeIfPresent(lastMessage, forKey: .lastMessage)
    }
}
