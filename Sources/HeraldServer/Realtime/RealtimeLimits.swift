/// Limits of the realtime gateway, documented in `docs/protocol.md`.
public struct RealtimeLimits: Sendable {
    /// Time a client has to send its `auth` frame when it did not authenticate with a header (4408).
    public var authTimeout: Duration = .seconds(5)
    /// Largest client message, in bytes (4413). Messages beyond `transportMaxFrame` are refused by the
    /// WebSocket layer itself with 1009.
    public var maxFrameBytes = 64 * 1024
    public var transportMaxFrame = 1024 * 1024
    /// Frames queued for one connection before it is closed as a slow consumer (1008).
    public var outboundQueueFrames = 1_024
    /// Sustained client frames per second per connection, and the burst allowed above it (4429).
    public var framesPerSecond: Double = 100
    public var frameBurst: Double = 200
    /// Interval of the server's pings; a client that does not answer one within the next interval is closed.
    public var pingInterval: Duration = .seconds(30)

    public init() {}
}
