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
    /// The last bytes seen, to find a "\r\n\r\n" split across reads.
    private var tail: [UInt8] = []
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
        let terminator: [UInt8] = [13, 10, 13, 10]
        var bytes = buffer.readableBytesView[...]
        if !requestBegan {
            bytes = bytes.drop { $0 == 13 || $0 == 10 }
            guard !bytes.isEmpty else { return false }
            requestBegan = true
        }
        var window = tail
        window.append(contentsOf: bytes)
        if window.count >= 4 {
            for index in 0...(window.count - 4) where window[index] == 13 && Array(window[index..<(index + 4)]) == terminator {
                return true
            }
        }
        tail = Array(window.suffix(3))
        return false
    }
}
