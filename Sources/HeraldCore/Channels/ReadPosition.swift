/// How far one member has read a channel. Read positions only move forward.
public struct ReadPosition: Codable, Equatable, Sendable {
    public var channelId: ChannelID
    public var userId: UserID
    public var seq: Int64

    public init(channelId: ChannelID, userId: UserID, seq: Int64) {
        self.channelId = channelId
        self.userId = userId
        self.seq = seq
    }
}
