import HeraldCore
import Logging
import NIOCore
import NIOWebSocket

/// One upgraded `/v1/realtime` socket, on its channel's event loop: WebSocket control frames, the
/// limits checked per frame, pings, the close handshake, and writing the `OutboundQueue`.
///
/// Client frames that need the store are handed to the gateway (`RealtimeSession.enqueue`), whose
/// task exists only while frames wait; everything else happens here, synchronously, with no task and
/// no hop. Timers (auth deadline, token expiry, pings, the close timeout) are the event loop's.
///
/// Framing is swift-nio's (`WebSocketFrameDecoder`, `WebSocketFrameEncoder` and its protocol error
/// handler, installed by the upgrader; `NIOWebSocketFrameAggregator` joins fragments).
final class RealtimeHandler: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let gateway: RealtimeGateway
    private let upgrade: RealtimeUpgrade
    private var context: ChannelHandlerContext?
    /// Reaches this handler from other threads (the queue's wake, resuming reads), until the socket goes.
    private var reference: NIOLoopBoundBox<RealtimeHandler?>?
    private var session: RealtimeSession?
    private var pings: RepeatedTask?
    private var closeDeadline: Scheduled<Void>?
    private var awaitsPong = false
    private var closeSent = false
    /// Ping ticks seen since the close frame was queued and before it reached the socket.
    private var ticksWithCloseUnsent = 0
    private var closeWritten = false
    private var peerClosed = false
    private var isReadingPaused = false
    private var readWaiting = false

    init(gateway: RealtimeGateway, upgrade: RealtimeUpgrade) {
        self.gateway = gateway
        self.upgrade = upgrade
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let loop = context.eventLoop
        let reference = NIOLoopBoundBox<RealtimeHandler?>(self, eventLoop: loop)
        self.reference = reference
        let limits = gateway.limits
        let queue = OutboundQueue(limit: limits.outboundQueueFrames, byteLimit: limits.outboundQueueBytes) {
            loop.execute { reference.value?.drain() }
        }
        let session = RealtimeSession(
            queue: queue, origin: upgrade.origin, clientAddress: upgrade.clientAddress, eventLoop: loop, logger: upgrade.logger
        ) {
            loop.execute { reference.value?.resumeReading() }
        }
        self.session = session
        let interval = TimeAmount(limits.pingInterval)
        pings = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in reference.value?.ping() }
        gateway.opened(session, upgrade: upgrade)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let session else { return }
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            received(frame.unmaskedData, session: session)
        case .binary:
            session.queue.close(.unacceptableData, reason: "only JSON text frames are accepted")
        case .ping:
            guard !closeSent else { return }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .pong:
            awaitsPong = false
        case .connectionClose:
            // The client ends the connection: answer its close (with its code) and drop the rest.
            peerClosed = true
            if closeSent {
                context.close(promise: nil)
            } else {
                var data = frame.unmaskedData
                let code = data.readWebSocketErrorCode() ?? .normalClosure
                session.queue.close(code, reason: "", discardingPending: true)
            }
        default:
            break
        }
    }

    /// A text frame: size, encoding and the user's frame budget are checked here; the frame then
    /// waits for the gateway's task.
    private func received(_ data: ByteBuffer, session: RealtimeSession) {
        guard !closeSent, !session.queue.isClosing else { return }
        let limits = gateway.limits
        guard data.readableBytes <= limits.maxFrameBytes else {
            session.queue.close(CloseCode.frameTooLarge, reason: "frame larger than \(limits.maxFrameBytes) bytes")
            return
        }
        guard let text = String(validating: data.readableBytesView, as: UTF8.self) else {
            session.queue.close(.dataInconsistentWithMessage, reason: "text frames must be UTF-8")
            return
        }
        // Before authentication there is no budget to charge: the first frame authenticates or ends the socket.
        if let identity = session.identity, !gateway.takeFrameBudget(of: identity) {
            session.queue.close(CloseCode.rateLimited, reason: "too many frames")
            return
        }
        let arrival = session.enqueue(text)
        if arrival.pausesReading { isReadingPaused = true }
        if arrival.startsTask {
            let gateway = gateway
            Task { await gateway.handleFrames(of: session) }
        }
    }

    /// Reads are asked for by NIO after each read; held back while too many frames wait.
    func read(context: ChannelHandlerContext) {
        if isReadingPaused {
            readWaiting = true
        } else {
            context.read()
        }
    }

    private func resumeReading() {
        isReadingPaused = false
        if readWaiting, let context {
            readWaiting = false
            context.read()
        }
    }

    /// Writes what the queue holds, with one flush, and the close frame once it is due.
    private func drain() {
        guard let context, let queue = session?.queue else { return }
        let batch = queue.take()
        if let last = batch.frames.indices.last {
            let written = context.eventLoop.makePromise(of: Void.self)
            for index in batch.frames.indices {
                let frame = WebSocketFrame(fin: true, opcode: .text, data: batch.frames[index])
                context.write(wrapOutboundOut(frame), promise: index == last ? written : nil)
            }
            let (count, bytes) = (batch.frames.count, batch.bytes)
            written.futureResult.whenComplete { _ in queue.written(frames: count, bytes: bytes) }
            gateway.framesOut.increment(by: Int64(count))
        }
        if let close = batch.close {
            sendClose(close.code, reason: close.reason, context: context)
        }
        context.flush()
    }

    private func sendClose(_ code: WebSocketErrorCode, reason: String, context: ChannelHandlerContext) {
        guard !closeSent else { return }
        closeSent = true
        var data = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: code)
        // A close frame's payload is at most 125 bytes.
        data.writeString(String(decoding: reason.utf8.prefix(123), as: UTF8.self))
        let sent = context.eventLoop.makePromise(of: Void.self)
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: sent)
        let (peerClosed, timeout) = (peerClosed, TimeAmount(gateway.closeTimeout))
        sent.futureResult.whenSuccess { [reference] in
            guard let handler = reference?.value else { return }
            handler.closeWritten = true
            if peerClosed {
                handler.context?.close(promise: nil)
            } else {
                // The client has this long, from when the close frame left, to answer it. (A slow
                // consumer's close frame waits behind what it has not read: its clock starts later.)
                handler.closeDeadline = handler.context?.eventLoop.scheduleTask(in: timeout) { reference?.value?.context?.close(promise: nil) }
            }
        }
    }

    /// Every ping interval: a client that did not answer the last ping is gone; one whose close frame
    /// has not left after a whole interval (it reads nothing) is cut off.
    private func ping() {
        guard let context, let session else { return }
        guard !closeSent else {
            if !closeWritten {
                ticksWithCloseUnsent += 1
                if ticksWithCloseUnsent > 1 { context.close(promise: nil) }
            }
            return
        }
        guard !awaitsPong else {
            session.queue.close(.goingAway, reason: "no pong", discardingPending: true)
            return
        }
        awaitsPong = true
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: context.channel.allocator.buffer(capacity: 0))), promise: nil)
    }

    /// The client half-closed its side (the server allows half-closure for HTTP): the socket is done.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        session?.logger.debug("realtime connection failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        context.close(promise: nil)
    }

    /// The socket is gone: the hub forgets it, timers stop, waiting replies give up.
    private func release() {
        guard let session else { return }
        self.session = nil
        pings?.cancel()
        closeDeadline?.cancel()
        reference?.value = nil
        reference = nil
        context = nil
        session.queue.ended()
        gateway.closed(session)
    }
}
