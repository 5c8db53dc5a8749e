public import HeraldCore

/// One message to append.
public struct AppendRequest: Sendable {
    public var app: AppID
    public var channel: ChannelID
    public var sender: UserID?
    public var content: MessageContent
    public var idempotency: IdempotencyKey?

    public init(app: AppID, channel: ChannelID, sender: UserID?, content: MessageContent, idempotency: IdempotencyKey? = nil) {
        self.app = app
        self.channel = channel
        self.sender = sender
        self.content = content
        self.idempotency = idempotency
    }
}

/// The result of an append: the stored message, and whether it was stored by an earlier request with
/// the same idempotency key.
public struct AppendResult: Sendable, Equatable {
    public var message: Message
    public var isReplay: Bool

    public init(message: Message, isReplay: Bool) {
        self.message = message
        self.isReplay = isReplay
    }
}
