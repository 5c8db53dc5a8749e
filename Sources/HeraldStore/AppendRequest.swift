public import HeraldCore

/// One message to append.
public struct AppendRequest: Sendable {
    public var app: AppID
    public var channel: ChannelID
    public var sender: UserID?
    public var content: MessageContent
    public var idempotency: IdempotencyKey?
    /// Signs the message once its id and time are assigned (business messages, sent as the app).
    public var signer: MessageSigner?

    public init(
        app: AppID, channel: ChannelID, sender: UserID?, content: MessageContent, idempotency: IdempotencyKey? = nil, signer: MessageSigner? = nil
    ) {
        self.app = app
        self.channel = channel
        self.sender = sender
        self.content = content
        self.idempotency = idempotency
        self.signer = signer
    }
}

/// Returns the `jws` for a message as it will be stored. Called inside the commit, so it must be quick
/// and must not do I/O (it signs with a key already in memory).
public typealias MessageSigner = @Sendable (Message) -> String

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
