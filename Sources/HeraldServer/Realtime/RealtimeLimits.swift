/// Limits of the realtime gateway, documented in `docs/protocol.md` and the README's Limits table.
public struct RealtimeLimits: Sendable {
    /// Time a client has to send its `auth` frame when it did not authenticate with a header (4408).
    public var authTimeout: Duration = .seconds(5)
    /// Largest client message, in bytes (4413). Messages beyond `transportMaxFrame` are refused by the
    /// WebSocket layer itself with 1009.
    public var maxFrameBytes = 64 * 1024
    public var transportMaxFrame = 1024 * 1024
    /// Frames, and bytes, queued for one connection before it is closed as a slow consumer (1008).
    public var outboundQueueFrames = 1_024
    public var outboundQueueBytes = 4 * 1024 * 1024
    /// Sockets one user may hold open at once, on this node (`--user-connections`); the next is closed
    /// with 4429.
    public var connectionsPerUser = 10
    /// Sustained client frames per second per user, shared by all of the user's sockets on this node,
    /// and the burst allowed above it (4429).
    public var framesPerSecond: Double = 100
    public var frameBurst: Double = 200
    /// `typing` frames relayed per user and channel: one per this interval; more are dropped quietly.
    public var typingInterval: Duration = .seconds(2)
    /// Channels with more members than this relay no `typing` at all (a frame per keystroke to a
    /// thousand members is a flood, and nobody reads "someone is typing" in a crowd).
    public var typingMaxMembers = 100
    /// Interval of the server's pings; a client that does not answer one within the next interval is closed.
    public var pingInterval: Duration = .seconds(30)
    /// `message.send` frames of one socket taken into one commit when they wait together (pipelining).
    public var pipelinedSends = 32
    /// Time a client has to answer the server's close frame before the socket is closed under it.
    public var closeTimeout: Duration = .seconds(5)

    public init() {}
}
