import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One HTTP/1.1 keep-alive connection of the benchmark, one request at a time, on NIO channel handlers.
///
/// The read scenarios (`history`, `inbox`) measure pages of a few hundred microseconds of server CPU,
/// on the server's two cores: AsyncHTTPClient cost about 0.5 ms of CPU a page there (its pool, a task
/// and a streaming body per request), so the figure was half the client's. It also pools at most
/// eight connections per host by default, so "16 clients" were 8 connections (issue 20 asks for as
/// many connections as clients). Here each client holds its own connection, and a response costs
/// NIO's HTTP parser and one buffer.
final class BenchHTTPConnection: Sendable {
    struct Response {
        var status: HTTPResponseStatus
        var body: ByteBuffer
    }

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    private let channel: any Channel
    private let host: String

    private init(channel: any Channel, host: String) {
        self.channel = channel
        self.host = host
    }

    static func connect(host: String, port: Int) async throws -> BenchHTTPConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(30))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ExchangeHandler())
                    return channel
                }
            }
        return BenchHTTPConnection(channel: channel, host: "\(host):\(port)")
    }

    /// `GET path` with `headers`; the whole response once its end arrived.
    func get(_ path: String, headers extra: [(String, String)] = []) async throws -> Response {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        for (name, value) in extra { headers.add(name: name, value: value) }
        let promise = channel.eventLoop.makePromise(of: Response.self)
        channel.writeAndFlush(Exchange(head: HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers), promise: promise), promise: nil)
        return try await promise.futureResult.get()
    }

    /// Starts closing, from anywhere (a `defer`).
    func close() {
        channel.close(promise: nil)
    }

    /// A request and where its response goes.
    struct Exchange {
        var head: HTTPRequestHead
        var promise: EventLoopPromise<Response>
    }

    /// Writes each request and completes its promise with the response; one exchange at a time.
    private final class ExchangeHandler: ChannelDuplexHandler {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundIn = Exchange
        typealias OutboundOut = HTTPClientRequestPart

        private var pending: EventLoopPromise<Response>?
        private var status: HTTPResponseStatus = .ok
        private var body = ByteBuffer()

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            let exchange = unwrapOutboundIn(data)
            guard pending == nil else {
                exchange.promise.fail(Failed(description: "a request was sent before the last one was answered"))
                return
            }
            pending = exchange.promise
            context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
            context.write(wrapOutboundOut(.end(nil)), promise: promise)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                status = head.status
                body.clear()
            case .body(var part):
                body.writeBuffer(&part)
            case .end:
                let response = Response(status: status, body: body)
                body = ByteBuffer()
                pending.take()?.succeed(response)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            pending.take()?.fail(error)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            pending.take()?.fail(Failed(description: "the server closed the connection"))
            context.fireChannelInactive()
        }
    }
}
