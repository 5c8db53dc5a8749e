import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// The benchmark's WebSocket client, on NIO channel handlers: every frame is handled on its
/// connection's event loop as it is read, with no task and no async sequence per frame or per socket.
///
/// The benchmark shares the server's two cores, so what the client costs per message is taken from
/// the server (issue 19): with HummingbirdWSClient (a task per socket, an async iteration per frame,
/// a `Task.sleep` per paced send) the clients of `throughput` cost about 55 µs per message and
/// `fanout` measured the client, not the server. Here a frame costs a scan of its bytes and a
/// paced send an event-loop timer. Framing, masking and the upgrade are NIOWebSocket's.
final class BenchWebSocket: Sendable {
    let channel: any Channel
    /// One masking key per connection: the server unmasks every frame whatever the key (RFC 6455
    /// wants it unpredictable to protect intermediaries, of which loopback has none).
    private let maskKey: WebSocketMaskingKey
    /// This side sent a close frame: the server's answer then ends the connection without an echo.
    private let closeSent = Mutex(false)

    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    private init(channel: any Channel) {
        self.channel = channel
        maskKey = .random()
    }

    /// Connects, upgrades with the token in `Authorization`, and returns once the socket is open.
    /// `onFrame` sees every text frame, on the connection's event loop, timed on arrival.
    static func connect(
        url: String, token: String, maxFrameSize: Int = 1 << 22, onFrame: @escaping @Sendable (ScannedFrame, BenchWebSocket) -> Void
    ) async throws -> BenchWebSocket {
        guard let parsed = URL(string: url), let host = parsed.host, let port = parsed.port else { throw Refused(description: "not a ws:// URL with a port: \(url)") }
        let path = parsed.path.isEmpty ? "/" : parsed.path
        let upgrade = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(30))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // A server that accepts but never answers the upgrade fails the connect, not the run's watchdog.
                    let deadline = channel.eventLoop.scheduleTask(in: .seconds(30)) { channel.close(promise: nil) }
                    let upgrader = NIOTypedWebSocketClientUpgrader<BenchWebSocket?>(maxFrameSize: maxFrameSize) { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            deadline.cancel()
                            let socket = BenchWebSocket(channel: channel)
                            try channel.pipeline.syncOperations.addHandlers(
                                NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 64, maxAccumulatedFrameSize: maxFrameSize),
                                FrameHandler(socket: socket, onFrame: onFrame))
                            return socket
                        }
                    }
                    var headers = HTTPHeaders()
                    headers.add(name: "Host", value: "\(host):\(port)")
                    headers.add(name: "Authorization", value: "Bearer \(token)")
                    headers.add(name: "Content-Length", value: "0")
                    let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration<BenchWebSocket?>(
                        upgradeRequestHead: head, upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in
                            deadline.cancel()
                            return channel.close().map { nil }
                        })
                    // The server's first frame (`ready`) may arrive in the same read as the 101: keep it.
                    var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: configuration)
                    pipeline.leftOverBytesStrategy = .forwardBytes
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
                }
            }
        guard let socket = try await upgrade.get() else { throw Refused(description: "the server refused the WebSocket upgrade of \(url)") }
        return socket
    }

    /// Sends a text frame, from any thread; frames leave in the order of the calls made on one thread.
    /// Nothing is sent once this side started the close (RFC 6455 §5.5.1).
    func send(_ text: String) {
        guard !closeSent.withLock({ $0 }) else { return }
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: maskKey, data: channel.allocator.buffer(string: text))
        channel.writeAndFlush(frame, promise: nil)
    }

    /// Starts the closing handshake (1000), once; the channel closes when the server answers.
    func close() {
        guard closeSent.withLock({ sent in defer { sent = true }; return !sent }) else { return }
        var reason = channel.allocator.buffer(capacity: 2)
        reason.write(webSocketErrorCode: .normalClosure)
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: maskKey, data: reason), promise: nil)
    }

    /// Waits until the connection is closed, by either side.
    func closed() async {
        try? await channel.closeFuture.get()
    }

    /// Hands text frames to `onFrame`, answers pings, and echoes the server's close.
    private final class FrameHandler: ChannelInboundHandler {
        typealias InboundIn = WebSocketFrame
        typealias OutboundOut = WebSocketFrame

        private let socket: BenchWebSocket
        private let onFrame: @Sendable (ScannedFrame, BenchWebSocket) -> Void

        init(socket: BenchWebSocket, onFrame: @escaping @Sendable (ScannedFrame, BenchWebSocket) -> Void) {
            self.socket = socket
            self.onFrame = onFrame
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            switch frame.opcode {
            case .text:
                let arrived = ScannedFrame.now()
                let scanned = ScannedFrame(frame.data, arrivedNanos: arrived)
                onFrame(scanned, socket)
            case .ping:
                context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, maskKey: socket.maskKey, data: frame.data)), promise: nil)
            case .connectionClose:
                // Echo the code (RFC 6455 §5.5.1) unless this side started the close, then close the TCP connection.
                guard !socket.closeSent.withLock({ $0 }) else {
                    context.close(promise: nil)
                    return
                }
                var data = frame.data
                let code = data.readWebSocketErrorCode() ?? .normalClosure
                var echo = context.channel.allocator.buffer(capacity: 2)
                echo.write(webSocketErrorCode: code)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: socket.maskKey, data: echo))).whenComplete { _ in
                    channel.close(promise: nil)
                }
            default:
                break
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
