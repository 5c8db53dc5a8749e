import NIOCore
import NIOPosix
import Synchronization

/// A loopback TCP relay in front of a server, to cut every connection at once the way a network
/// failure does (the client sees its socket die; the server stays up).
public final class TCPRelay: Sendable {
    private let server: any Channel
    private let connections: Connections
    public var port: Int { server.localAddress?.port ?? 0 }

    final class Connections: Sendable {
        let channels = Mutex<[ObjectIdentifier: any Channel]>([:])
        func add(_ channel: any Channel) { channels.withLock { $0[ObjectIdentifier(channel)] = channel } }
        /// Takes the connections relayed so far; ones accepted later are left for the next cut.
        func takeAll() -> [any Channel] {
            channels.withLock { channels in
                defer { channels.removeAll() }
                return Array(channels.values)
            }
        }
    }

    private init(server: any Channel, connections: Connections) {
        self.server = server
        self.connections = connections
    }

    /// Listens on 127.0.0.1 and forwards every connection to `targetPort`.
    public static func start(to targetPort: Int) async throws -> TCPRelay {
        let connections = Connections()
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                ClientBootstrap(group: inbound.eventLoop).connect(host: "127.0.0.1", port: targetPort).flatMap { outbound in
                    connections.add(inbound)
                    connections.add(outbound)
                    let (left, right) = Glue.pair()
                    // Reading starts only once both halves are glued, so no early byte is lost.
                    return inbound.pipeline.addHandler(left).and(outbound.pipeline.addHandler(right)).flatMap { _ in
                        inbound.setOption(.autoRead, value: true)
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TCPRelay(server: server, connections: connections)
    }

    /// Closes every relayed connection, both halves; new connections are still accepted.
    public func cutAll() async {
        for channel in connections.takeAll() { try? await channel.close() }
    }

    public func stop() async {
        await cutAll()
        try? await server.close()
    }
}

/// Two handlers that pass each side's bytes to the other (with backpressure: read when writable).
final class Glue: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    // Each handler lives on its channel's event loop; the peer is only touched there.
    private var partner: Glue?
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    static func pair() -> (Glue, Glue) {
        let first = Glue()
        let second = Glue()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    private func partnerWrite(_ data: ByteBuffer) {
        guard let context else { return }
        context.eventLoop.execute { [self] in
            self.context?.writeAndFlush(NIOAny(data), promise: nil)
        }
    }

    private func partnerClose() {
        guard let context else { return }
        context.eventLoop.execute { [self] in self.context?.close(promise: nil) }
    }

    private func partnerBecameWritable() {
        guard let context else { return }
        context.eventLoop.execute { [self] in
            if self.pendingRead {
                self.pendingRead = false
                self.context?.read()
            }
        }
    }

    private var partnerIsWritable: Bool { partner?.context?.channel.isWritable ?? false }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.partnerWrite(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) { partner?.partnerClose() }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
    }

    func read(context: ChannelHandlerContext) {
        if partnerIsWritable { context.read() } else { pendingRead = true }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}
