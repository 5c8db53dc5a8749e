import NIOCore
import NIOSSL

/// The STARTTLS turn of an SMTP connection, done on the event loop where nothing can slip past it.
///
/// Sits between the socket and the conversation and passes bytes through, until the client writes
/// `STARTTLS`: then it holds what the server sends until a complete reply. A `220` that is the last
/// byte received puts TLS in front of the connection (`NIOSSLClientHandler`, added synchronously, so
/// the next byte read is already TLS) before the reply goes on; any byte after the `220` (a command
/// injection, CVE-2011-0411's kind) closes the connection, as nothing sent in clear may be read as if it
/// came through TLS. Another reply (`454`) goes on unchanged, in clear, for the conversation to refuse.
final class StartTLSGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct InjectedBytes: Error {}

    private enum State {
        case plain
        case awaitingReply(ByteBuffer)
        case secured
    }

    private var state = State.plain
    private let makeTLS: () throws -> NIOSSLClientHandler

    init(makeTLS: @escaping () throws -> NIOSSLClientHandler) {
        self.makeTLS = makeTLS
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .plain = state, unwrapOutboundIn(data).readableBytesView.elementsEqual("STARTTLS\r\n".utf8) {
            state = .awaitingReply(context.channel.allocator.buffer(capacity: 64))
        }
        context.write(data, promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .awaitingReply(var held) = state else {
            context.fireChannelRead(data)
            return
        }
        var incoming = unwrapInboundIn(data)
        held.writeBuffer(&incoming)
        guard let end = Self.endOfReply(held) else {
            state = .awaitingReply(held)
            return
        }
        let isReady = held.readableBytesView.starts(with: "220".utf8)
        guard isReady else {
            state = .plain
            context.fireChannelRead(wrapInboundOut(held))
            return
        }
        guard end == held.readableBytes else {
            context.fireErrorCaught(InjectedBytes())
            context.close(promise: nil)
            return
        }
        do {
            try context.pipeline.syncOperations.addHandler(try makeTLS(), position: .first)
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return
        }
        state = .secured
        context.fireChannelRead(wrapInboundOut(held))
        // The end of this read reaches the conversation through the TLS handler now in front, which
        // keeps it (it saw no record): said here, or the reply would wait in the channel's buffer.
        context.fireChannelReadComplete()
    }

    /// The length of the first complete reply in `buffer` (through the CRLF of its last line: the one
    /// whose code is followed by a space), or nil while it is incomplete.
    static func endOfReply(_ buffer: ByteBuffer) -> Int? {
        let bytes = Array(buffer.readableBytesView)
        var lineStart = 0
        while let newline = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = bytes[lineStart..<newline]
            if line.count < 4 || line[line.startIndex + 3] != UInt8(ascii: "-") { return newline + 1 }
            lineStart = newline + 1
        }
        return nil
    }
}
