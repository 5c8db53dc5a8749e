import HummingbirdCore
import Logging
import NIOCore

/// Closes a connection whose first request head has not fully arrived within `timeout`.
///
/// Hummingbird's idle timeout starts only once a first request has been decoded, and the body deadline
/// (`RequestBodyDeadlineMiddleware`) once a route runs: a client that connects and sends nothing, or
/// trickles its request line a byte at a time (slowloris), would otherwise hold its connection, and a
/// file descriptor, for ever. Written by hand because neither NIO's `IdleStateHandler` (any byte
/// resets it) nor Hummingbird bounds the time to a complete head.
///
/// The handler sits first in the pipeline (after TLS, so it sees the decrypted bytes), watches for the
/// blank line that ends the head, and removes itself once it has seen it. CR and LF before the request
/// line do not count (HTTP parsers skip them, so "\r\n\r\n" first would otherwise end the watch before
/// any request began).
struct RequestHeadDeadlineChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let timeout: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RequestHeadDeadlineHandler(timeout: timeout))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

final class RequestHeadDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    /// How many bytes of "\r\n\r\n" the bytes read so far end with (0–3): a terminator split across
    /// reads is still found, and no read is copied.
    private var matched = 0
    /// Whether a byte other than CR or LF has arrived (the request line has begun).
    private var requestBegan = false

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if endsHead(buffer) {
            deadline?.cancel()
            deadline = nil
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireChannelRead(data)
    }

    private func endsHead(_ buffer: ByteBuffer) -> Bool {
        var bytes = buffer.readableBytesView[...]
        if !requestBegan {
            bytes = bytes.drop { $0 == 13 || $0 == 10 }
            guard !bytes.isEmpty else { return false }
            requestBegan = true
        }
        for byte in bytes {
            matched = Self.matched(after: matched, byte)
            if matched == 4 { return true }
        }
        return false
    }

    /// The match of "\r\n\r\n" after one more byte: the expected byte extends it, a CR starts it
    /// again, anything else ends it. (Before this, each read was copied into an array and every CR
    /// compared as a new array: work on every connection's first request.)
    static func matched(after matched: Int, _ byte: UInt8) -> Int {
        let expected: UInt8 = matched % 2 == 0 ? 13 : 10
        if byte == expected { return matched + 1 }
        return byte == 13 ? 1 : 0
    }
}
