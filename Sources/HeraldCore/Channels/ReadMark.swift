/// "This user has read this channel up to `seq`": one read position to move, in a batch.
public struct ReadMark: Hashable, Sendable {
    public var app: AppID
    public var channel: ChannelID
    public var user: UserID
    public var seq: Int64

    public init(app: AppID, channel: ChannelID, user: UserID, seq: Int64) {
        self.app = app
        self.channel = channel
        self.user = user
        self.seq = seq
    }
}
