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
    private var shutdownDeadline: Scheduled<Void>?
    /// The payload of the last ping sent, until its pong comes back (a pong that does not match is
    /// not an answer).
    private var pingPayload: UInt64?
    /// A pong is waiting to be written: a ping arriving meanwhile gets no second one (RFC 6455 5.5.3
    /// allows answering only the latest), so a ping flood cannot pile pongs up in memory.
    private var pongPending = false
    private var closeSent = false
    /// Ping ticks seen since the close frame was queued and before it reached the socket.
    private var ticksWithCloseUnsent = 0
    private var closeWritten = false
    private var peerClosed = false
    /// NIO asked to read while reading was paused: the read is made when the session resumes it.
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
        let pass = gateway.deliveryPasses.pass(for: loop)
        let write: @Sendable () -> Void = { reference.value?.drain() }
        let queue = OutboundQueue(limit: limits.outboundQueueFrames, byteLimit: limits.outboundQueueBytes) {
            pass.wake(write)
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
            guard !closeSent, !pongPending else { return }
            pongPending = true
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenComplete { [reference] _ in reference?.value?.pongPending = false }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: written)
        case .pong:
            var data = frame.unmaskedData
            if let sent = pingPayload, data.readInteger(as: UInt64.self) == sent { pingPayload = nil }
        case .connectionClose:
            // The client ends the connection: answer its close (with its code when it may be sent
            // back, RFC 6455 7.4) and drop the rest.
            peerClosed = true
            if closeSent {
                context.close(promise: nil)
            } else {
                var data = frame.unmaskedData
                let code = data.readWebSocketErrorCode().map(Self.answer(toClose:)) ?? .normalClosure
                session.queue.close(code, reason: "", discardingPending: true)
            }
        default:
            break
        }
    }

    /// The code to answer a client's close with: its own, unless it is one an endpoint must not send.
    static func answer(toClose code: WebSocketErrorCode) -> WebSocketErrorCode {
        let number = UInt16(webSocketErrorCode: code)
        switch number {
        case 1000...1003, 1007...1011, 3000...4999: return code
        default: return .protocolError
        }
    }

    /// A text frame: size, encoding and the user's frame budget are checked here; the frame then
    /// waits for the gateway's task. Frames that arrive before the socket is authenticated are
    /// charged by the task once it is (`RealtimeSession.Waiting.isCharged`).
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
        var isCharged = false
        if let identity = session.identity {
            guard gateway.takeFrameBudget(of: identity) else {
                session.queue.close(CloseCode.rateLimited, reason: "too many frames")
                return
            }
            isCharged = true
        }
        let arrival = session.enqueue(text, isCharged: isCharged)
        if arrival.startsTask {
            let gateway = gateway
            Task { await gateway.handleFrames(of: session) }
        }
    }

    /// Reads are asked for by NIO after each read; held back while too many frames wait (the
    /// session keeps that state: the task that takes frames decides when reading resumes).
    func read(context: ChannelHandlerContext) {
        if session?.isReadingPaused == true {
            readWaiting = true
        } else {
            context.read()
        }
    }

    /// The session made room; it may have filled again since, so its state decides.
    private func resumeReading() {
        guard readWaiting, let context, session?.isReadingPaused == false else { return }
        readWaiting = false
        context.read()
    }

    /// Writes what the queue holds, with one flush, and the close frame once it is due (called by
    /// the loop's `DeliveryPass`).
    func drain() {
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
        guard pingPayload == nil else {
            session.queue.close(.goingAway, reason: "no pong", discardingPending: true)
            return
        }
        let payload = UInt64.random(in: .min ... .max)
        pingPayload = payload
        var data = context.channel.allocator.buffer(capacity: 8)
        data.writeInteger(payload)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: data)), promise: nil)
    }

    /// The client half-closed its side (the server allows half-closure for HTTP): the socket is done.
    /// The server is stopping (Hummingbird's quiescing, which waits for every child channel): the
    /// socket is closed with 1001 and, answered or not, cut off after the close timeout.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)
            return
        }
        if event is ChannelShouldQuiesceEvent {
            session?.queue.close(.goingAway, reason: "server shutting down")
            shutdownDeadline = context.eventLoop.scheduleTask(in: TimeAmount(gateway.closeTimeout)) { [reference] in
                reference?.value?.context?.close(promise: nil)
            }
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

    /// A message of too many fragments or too many bytes (the aggregator's bounds) is closed with
    /// 1009 like an oversized frame; framing errors are closed by NIO's protocol error handler
    /// upstream (with 1002 or 1009), which this leaves to finish; anything else ends the socket.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        session?.logger.debug("realtime connection failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        switch error {
        case is NIOWebSocketFrameAggregator.Error:
            session?.queue.close(.messageTooLarge, reason: "message too large", discardingPending: true)
        case is NIOWebSocketError:
            // NIO's handler has sent the close; the ping ticks cut the socket off if it never leaves.
            closeSent = true
        default:
            context.close(promise: nil)
        }
    }

    /// The socket is gone: the hub forgets it, timers stop, waiting replies give up.
    private func release() {
        guard let session else { return }
        self.session = nil
        pings?.cancel()
        closeDeadline?.cancel()
        shutdownDeadline?.cancel()
        reference?.value = nil
        reference = nil
        context = nil
        session.queue.ended()
        gateway.closed(session)
    }
}
