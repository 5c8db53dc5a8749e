import CoreMetrics
import Foundation
import HeraldCore
import HeraldStore
import HummingbirdWebSocket
import Logging
import NIOWebSocket

/// `GET /v1/realtime`: one authenticated WebSocket per device.
///
/// Each connection runs three child tasks: a writer that drains the connection's bounded queue into
/// the socket, a reader that handles client frames one after another (so a client's sends are stored
/// in the order it sent them), and a watchdog for the auth deadline and the token's expiry. The
/// connection ends when the writer has written the close frame or the socket is gone.
///
/// Per user (on this node): at most `connectionsPerUser` sockets, one budget of frames per second
/// shared by all of them, and `typing` relayed at most once per interval and channel.
struct RealtimeGateway: Sendable {
    let store: any ChannelStore & MessageStore & SettingsStore
    let hub: Hub
    let tokens: UserTokens
    let limits: RealtimeLimits
    let readPositions: ReadPositionWriter
    let rejections: CredentialRejections
    let now: @Sendable () -> Date
    /// Frame and typing budgets, keyed per user (and channel), on a monotonic clock.
    let budgets: RateLimiter
    /// `herald_realtime_frames_total{direction="in"|"out"}`: made once, incremented per frame.
    let framesIn: Counter
    let framesOut: Counter

    init(
        store: any ChannelStore & MessageStore & SettingsStore, hub: Hub, tokens: UserTokens, limits: RealtimeLimits, readPositions: ReadPositionWriter, rejections: CredentialRejections,
        metrics: any MetricsFactory = NOOPMetricsHandler.instance, now: @escaping @Sendable () -> Date
    ) {
        framesIn = Counter(label: "herald_realtime_frames_total", dimensions: [("direction", "in")], factory: metrics)
        framesOut = Counter(label: "herald_realtime_frames_total", dimensions: [("direction", "out")], factory: metrics)
        self.store = store
        self.hub = hub
        self.tokens = tokens
        self.limits = limits
        self.readPositions = readPositions
        self.rejections = rejections
        self.now = now
        let clock = ContinuousClock()
        let origin = clock.now
        budgets = RateLimiter(
            platform: .init(rate: limits.framesPerSecond, burst: limits.frameBurst), user: .init(rate: limits.framesPerSecond, burst: limits.frameBurst),
            now: { (clock.now - origin).seconds })
    }

    private enum Role {
        case writer, reader, watchdog
    }

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, context: HeraldRequestContext) async {
        let session = RealtimeSession(
            queue: OutboundQueue(limit: limits.outboundQueueFrames, byteLimit: limits.outboundQueueBytes), origin: context.origin,
            clientAddress: context.clientAddress)
        var logger = context.logger
        if case .user(let app, let user)? = context.caller, let expiry = context.credentialExpiry {
            await start(session, as: .init(app: app, user: user, expiresAt: expiry), logger: &logger)
        }
        await withTaskGroup(of: Role.self) { group in
            group.addTask {
                await Self.write(session.queue, to: outbound, counting: framesOut)
                return .writer
            }
            group.addTask { [logger] in
                await read(inbound, session: session, logger: logger)
                return .reader
            }
            group.addTask {
                await watch(session)
                return .watchdog
            }
            while let role = await group.next() {
                switch role {
                case .writer:
                    // The socket is gone: a reader waiting for room in the queue must not wait for ever.
                    session.queue.writerEnded()
                    group.cancelAll()
                case .reader: session.queue.close(.normalClosure, reason: "", discardingPending: true)
                case .watchdog: break
                }
            }
        }
        if let identity = session.identity {
            hub.unregister(session.queue, user: identity.user, in: identity.app)
        }
    }

    /// Registers the authenticated connection and says `ready`.
    /// A socket that is refused (too many, feed down, shutting down) never becomes authenticated: its
    /// frames are not handled while its close goes out.
    private func start(_ session: RealtimeSession, as identity: RealtimeSession.Identity, logger: inout Logger) async {
        logger[metadataKey: "app_id"] = "\(identity.app)"
        switch hub.register(session.queue, user: identity.user, in: identity.app, limit: limits.connectionsPerUser) {
        case .registered:
            session.authenticate(identity)
            await send(.ready(userID: identity.user), on: session.queue)
        case .tooManyConnections:
            session.queue.close(CloseCode.rateLimited, reason: "too many connections (\(limits.connectionsPerUser) per user)")
        case .shuttingDown:
            session.queue.close(.goingAway, reason: "server shutting down")
        case .feedDown:
            session.queue.close(CloseCode.serviceRestart, reason: "cluster feed lost; reconnect shortly")
        }
    }

    private static func write(_ queue: OutboundQueue, to outbound: WebSocketOutboundWriter, counting sent: Counter) async {
        while let item = await queue.next() {
            do {
                switch item {
                case .frame(let text):
                    try await outbound.write(.text(text))
                    sent.increment()
                case .close(let code, let reason):
                    try await outbound.close(code, reason: reason)
                    return
                }
            } catch {
                return
            }
        }
    }

    /// Enforces the auth deadline, then closes the connection with 4401 when its token expires.
    private func watch(_ session: RealtimeSession) async {
        if session.identity == nil {
            try? await Task.sleep(for: limits.authTimeout)
            if Task.isCancelled { return }
            guard session.identity != nil else {
                session.queue.close(CloseCode.authTimeout, reason: "authentication timeout")
                return
            }
        }
        guard let expiry = session.identity?.expiresAt else { return }
        let remaining = expiry.timeIntervalSince(now())
        if remaining > 0 {
            try? await Task.sleep(for: .milliseconds(Int64(remaining * 1000)))
            if Task.isCancelled { return }
        }
        session.queue.close(CloseCode.unauthenticated, reason: "token expired")
    }

    private func read(_ inbound: WebSocketInboundStream, session: RealtimeSession, logger: Logger) async {
        var logger = logger
        do {
            for try await message in inbound.messages(maxSize: limits.transportMaxFrame) {
                guard case .text(let text) = message else {
                    session.queue.close(.unacceptableData, reason: "only JSON text frames are accepted")
                    return
                }
                guard text.utf8.count <= limits.maxFrameBytes else {
                    session.queue.close(CloseCode.frameTooLarge, reason: "frame larger than \(limits.maxFrameBytes) bytes")
                    return
                }
                // Before authentication there is no budget to charge: the first frame authenticates or ends the socket.
                if let identity = session.identity,
                    budgets.take(key: "frames:\(identity.app.rawValue):\(identity.user.rawValue)", limits: budgets.user) != nil
                {
                    session.queue.close(CloseCode.rateLimited, reason: "too many frames")
                    return
                }
                guard await handle(text, session: session, logger: &logger) else { return }
            }
        } catch {
            logger.debug("realtime connection ended", metadata: ["error": "\(error)"])
        }
    }

    /// Handles one client frame; false when the connection must end.
    private func handle(_ text: String, session: RealtimeSession, logger: inout Logger) async -> Bool {
        // A socket on its way out (refused, over a limit, expired) handles nothing more.
        guard !session.queue.isClosing else { return false }
        framesIn.increment()
        let frame: ClientFrame
        do {
            frame = try ClientFrame(text: text)
        } catch {
            if session.identity == nil {
                session.queue.close(CloseCode.unauthenticated, reason: "authenticate first")
                return false
            }
            await send(Self.errorFrame(error.error, clientMessageID: error.clientMessageID), on: session.queue)
            return true
        }
        guard let identity = session.identity else {
            // The same per-address budget of failures as the HTTP API's credentials, checked first.
            if rejections.retryAfter(for: session.clientAddress) != nil {
                session.queue.close(CloseCode.rateLimited, reason: "too many failed authentications")
                return false
            }
            guard case .auth(let token) = frame else {
                session.queue.close(CloseCode.unauthenticated, reason: "not authenticated")
                return false
            }
            let verified: (caller: Caller, expiresAt: Date)
            do {
                verified = try await tokens.verify(token)
            } catch HeraldError.unauthenticated(let why) {
                rejections.record(.userToken, from: session.clientAddress, path: "/v1/realtime")
                // The close reason names the rejection (`expired`, `revoked`, …): the client knows to refresh.
                session.queue.close(CloseCode.unauthenticated, reason: "token \(why.rawValue)")
                return false
            } catch {
                // The store could not be asked: not the client's fault, and its token may be good.
                session.queue.close(CloseCode.serviceRestart, reason: "try again shortly")
                return false
            }
            guard case .user(let app, let user) = verified.caller else {
                session.queue.close(CloseCode.unauthenticated, reason: "not authenticated")
                return false
            }
            let expiry = verified.expiresAt
            // With frame auth the app is known only now: a browser page's origin is checked here.
            if let origin = session.origin, !((try? await store.settings(of: app))?.realtime.allows(originHeader: origin) ?? false) {
                session.queue.close(CloseCode.forbidden, reason: "origin not allowed")
                return false
            }
            await start(session, as: .init(app: app, user: user, expiresAt: expiry), logger: &logger)
            return true
        }
        do {
            try await perform(frame, as: identity, session: session)
        } catch let error as HeraldError {
            await send(Self.errorFrame(error, clientMessageID: frame.clientMessageID), on: session.queue)
        } catch {
            logger.error("realtime frame failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            await send(.error(code: ErrorCode.internal.rawValue, detail: "The frame could not be handled.", clientMessageID: frame.clientMessageID), on: session.queue)
        }
        return true
    }

    private func perform(_ frame: ClientFrame, as identity: RealtimeSession.Identity, session: RealtimeSession) async throws {
        let caller = Caller.user(identity.app, identity.user)
        switch frame {
        case .auth:
            throw HeraldError.conflict(detail: "Already authenticated.")
        case .send(let channelID, let clientMessageID, let content):
            // No read of the channel first: the writer checks, under its lock, that the channel is the
            // app's and the sender a member (`AppendRules.check`), with the same errors.
            let key = IdempotencyKey(
                scope: "ws:\(identity.user):\(channelID)", key: clientMessageID, request: content.canonicalBytes(sender: identity.user), user: identity.user,
                requiresSameRequest: false)
            let result = try await store.append(AppendRequest(app: identity.app, channel: channelID, sender: identity.user, content: content, idempotency: key))
            await send(.ack(clientMessageID: clientMessageID, message: result.message), on: session.queue)
        case .sync(let channelID, let afterSeq):
            let channel = try await store.requireChannel(channelID, in: identity.app)
            try Access.checkCanRead(channel, by: caller)
            var cursor = afterSeq
            while true {
                let page = try await store.history(of: channelID, in: identity.app, query: HistoryQuery(after: cursor, limit: Limits.pageSize))
                for message in page.messages {
                    guard await send(.messageCreated(message), on: session.queue) else { return }
                }
                cursor = page.messages.last?.seq ?? cursor
                if !page.hasMore { break }
            }
            await send(.syncDone(channelID: channelID, lastSeq: cursor), on: session.queue)
        case .read(let channelID, let seq):
            let channel = try await store.requireChannel(channelID, in: identity.app)
            guard channel.members.contains(identity.user) else { throw HeraldError.forbidden(reason: "Not a member of this channel.") }
            guard readPositions.submit(ReadMark(app: identity.app, channel: channelID, user: identity.user, seq: seq), members: channel.members) else {
                throw HeraldError.rateLimited(retryAfterSeconds: 1)
            }
        case .typing(let channelID):
            let channel = try await store.requireChannel(channelID, in: identity.app)
            try Access.checkCanRead(channel, by: caller)
            // Typing is a hint: beyond its budget, or in a crowd, it is dropped without a word.
            guard channel.members.count <= limits.typingMaxMembers,
                budgets.take(
                    key: "typing:\(identity.app.rawValue):\(identity.user.rawValue):\(channelID.rawValue)",
                    limits: .init(rate: 1 / limits.typingInterval.seconds, burst: 1)) == nil
            else { return }
            hub.publish(.typing(channelID: channelID, userID: identity.user), app: identity.app, to: channel.members.filter { $0 != identity.user })
        }
    }

    @discardableResult
    private func send(_ frame: ServerFrame, on queue: OutboundQueue) async -> Bool {
        guard let text = FrameWriter.text(of: frame) else { return false }
        return await queue.send(text)
    }

    static func errorFrame(_ error: HeraldError, clientMessageID: ClientMessageID?) -> ServerFrame {
        .error(code: error.code.rawValue, detail: error.detail, clientMessageID: clientMessageID)
    }
}

/// The gateway's close codes as NIO's type (the codes themselves are `RealtimeCloseCode`, shared with the SDK).
enum CloseCode {
    static let unauthenticated = code(.unauthenticated)
    static let forbidden = code(.forbidden)
    static let authTimeout = code(.authTimeout)
    static let frameTooLarge = code(.frameTooLarge)
    static let rateLimited = code(.rateLimited)
    static let serviceRestart = code(.serviceRestart)

    private static func code(_ code: RealtimeCloseCode) -> WebSocketErrorCode { WebSocketErrorCode(codeNumber: Int(code.rawValue)) }
}

extension ClientFrame {
    var clientMessageID: ClientMessageID? {
        if case .send(_, let id, _) = self { return id }
        return nil
    }
}
