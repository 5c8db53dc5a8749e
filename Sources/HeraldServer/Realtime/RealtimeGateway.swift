import CoreMetrics
import Foundation
import HeraldCore
import HeraldStore
import Logging
import NIOCore
import NIOWebSocket

/// `GET /v1/realtime`: one authenticated WebSocket per device.
///
/// The socket itself is `RealtimeHandler`'s, on its event loop (framing, limits, pings, writing the
/// outbound queue); the gateway decides what each client frame does. Frames are handled one after
/// another per socket, in arrival order (a client's sends are stored in the order it sent them), by a
/// task that exists only while frames wait. The auth deadline and the token's expiry are timers of
/// the socket's event loop.
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
    /// Writes the sockets that have frames waiting, per event loop.
    let deliveryPasses = DeliveryPasses()

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

    /// A socket was upgraded (on its event loop): registered at once when the upgrade request
    /// carried the user's token, else given `authTimeout` to send its `auth` frame.
    func opened(_ session: RealtimeSession, upgrade: RealtimeUpgrade) {
        if let user = upgrade.user {
            start(session, as: .init(app: user.app, user: user.user, expiresAt: user.expiresAt))
            return
        }
        session.keep(
            session.eventLoop.scheduleTask(in: TimeAmount(limits.authTimeout)) {
                if session.identity == nil { session.queue.close(CloseCode.authTimeout, reason: "authentication timeout") }
            })
    }

    /// The socket is gone (on its event loop).
    func closed(_ session: RealtimeSession) {
        if let identity = session.end() {
            hub.unregister(session.queue, user: identity.user, in: identity.app)
        }
    }

    /// Takes one frame from the user's budget, shared by all of their sockets on this node; false when it is spent.
    func takeFrameBudget(of identity: RealtimeSession.Identity) -> Bool {
        budgets.take(key: "frames:\(identity.app.rawValue):\(identity.user.rawValue)", limits: budgets.user) == nil
    }

    /// How long a client has to answer the server's close frame before the socket is closed under it.
    var closeTimeout: Duration { limits.closeTimeout }

    /// Registers the authenticated connection, says `ready` and closes it with 4401 when the token expires.
    /// A socket that is refused (too many, feed down, shutting down) never becomes authenticated: its
    /// frames are not handled while its close goes out.
    private func start(_ session: RealtimeSession, as identity: RealtimeSession.Identity) {
        switch hub.register(session.queue, user: identity.user, in: identity.app, limit: limits.connectionsPerUser) {
        case .registered:
            // The socket may have gone while its token was checked: then it is forgotten at once.
            guard session.authenticate(identity) else {
                hub.unregister(session.queue, user: identity.user, in: identity.app)
                return
            }
            if let frame = FrameWriter.buffer(of: .ready(userID: identity.user)) { session.queue.offer(frame) }
            // Bounded (about 31 years) so that no far-off expiry, whoever signed it, traps in the conversion.
            let remaining = min(max(0, identity.expiresAt.timeIntervalSince(now())), 1e9)
            session.keep(
                session.eventLoop.scheduleTask(in: .nanoseconds(Int64(remaining * 1e9))) {
                    session.queue.close(CloseCode.unauthenticated, reason: "token expired")
                })
        case .tooManyConnections:
            session.queue.close(CloseCode.rateLimited, reason: "too many connections (\(limits.connectionsPerUser) per user)")
        case .shuttingDown:
            session.queue.close(.goingAway, reason: "server shutting down")
        case .feedDown:
            session.queue.close(CloseCode.serviceRestart, reason: "cluster feed lost; reconnect shortly")
        }
    }

    /// Handles the session's waiting frames in arrival order; returns when none is left (the handler
    /// starts this again for the next frame).
    ///
    /// Pipelining: the `message.send` frames among those waiting go to the store together
    /// (`appendAll`: one commit, in the order sent) and are acked in that order; any other frame is
    /// handled once the sends before it are.
    func handleFrames(of session: RealtimeSession) async {
        var logger = session.logger
        if let identity = session.identity { logger[metadataKey: "app_id"] = "\(identity.app)" }
        while true {
            let frames = session.next(upTo: limits.pipelinedSends)
            if frames.isEmpty { return }
            var sends: [(ClientMessageID, AppendRequest)] = []
            for frame in frames {
                // A frame that arrived behind the `auth` frame, before the socket was authenticated.
                if !frame.isCharged, let identity = session.identity, !session.queue.isClosing, !takeFrameBudget(of: identity) {
                    session.queue.close(CloseCode.rateLimited, reason: "too many frames")
                    continue
                }
                if let identity = session.identity, !session.queue.isClosing, let send = Self.sendRequest(frame.text, as: identity) {
                    framesIn.increment()
                    sends.append(send)
                    continue
                }
                await append(sends, session: session, logger: logger)
                sends = []
                await handle(frame.text, session: session, logger: &logger)
            }
            await append(sends, session: session, logger: logger)
        }
    }

    /// A `message.send` frame as the store's request; nil for any other frame, or one that does not
    /// parse (`handle` then answers it).
    private static func sendRequest(_ text: String, as identity: RealtimeSession.Identity) -> (ClientMessageID, AppendRequest)? {
        guard case .send(let channelID, let clientMessageID, let content)? = try? ClientFrame(text: text) else { return nil }
        return (clientMessageID, appendRequest(channelID, clientMessageID, content, as: identity))
    }

    /// What a realtime send asks the store: idempotent per user, channel and `clientMessageId`.
    /// No read of the channel first: the writer checks, under its lock, that the channel is the app's
    /// and the sender a member (`AppendRules.check`), with the same errors.
    private static func appendRequest(
        _ channelID: ChannelID, _ clientMessageID: ClientMessageID, _ content: MessageContent, as identity: RealtimeSession.Identity
    ) -> AppendRequest {
        let key = IdempotencyKey(
            scope: "ws:\(identity.user):\(channelID)", key: clientMessageID, request: content.canonicalBytes(sender: identity.user), user: identity.user,
            requiresSameRequest: false)
        return AppendRequest(app: identity.app, channel: channelID, sender: identity.user, content: content, idempotency: key)
    }

    /// Stores pipelined sends in one commit and answers each, in order: its ack or its error.
    private func append(_ sends: [(ClientMessageID, AppendRequest)], session: RealtimeSession, logger: Logger) async {
        guard !sends.isEmpty else { return }
        let results = await store.appendAll(sends.map(\.1))
        for ((clientMessageID, _), result) in zip(sends, results) {
            switch result {
            case .success(let appended):
                await send(.ack(clientMessageID: clientMessageID, message: appended.message), on: session.queue)
            case .failure(let error as HeraldError):
                await send(Self.errorFrame(error, clientMessageID: clientMessageID), on: session.queue)
            case .failure(let error):
                logger.error("realtime send failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
                await send(.error(code: ErrorCode.internal.rawValue, detail: "The frame could not be handled.", clientMessageID: clientMessageID), on: session.queue)
            }
        }
    }

    /// Handles one client frame; false when the connection must end.
    @discardableResult
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
            logger[metadataKey: "app_id"] = "\(app)"
            start(session, as: .init(app: app, user: user, expiresAt: expiry))
            return true
        }
        do {
            try await perform(frame, as: identity, session: session, logger: logger)
        } catch let error as HeraldError {
            await send(Self.errorFrame(error, clientMessageID: frame.clientMessageID), on: session.queue)
        } catch {
            logger.error("realtime frame failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            await send(.error(code: ErrorCode.internal.rawValue, detail: "The frame could not be handled.", clientMessageID: frame.clientMessageID), on: session.queue)
        }
        return true
    }

    private func perform(_ frame: ClientFrame, as identity: RealtimeSession.Identity, session: RealtimeSession, logger: Logger) async throws {
        let caller = Caller.user(identity.app, identity.user)
        switch frame {
        case .auth:
            throw HeraldError.conflict(detail: "Already authenticated.")
        case .send(let channelID, let clientMessageID, let content):
            // `handleFrames` takes sends before they get here; one path answers them all the same.
            await append([(clientMessageID, Self.appendRequest(channelID, clientMessageID, content, as: identity))], session: session, logger: logger)
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
            guard channel.members.contains(identity.user) else { throw Access.notMember }
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
        guard let buffer = FrameWriter.buffer(of: frame) else { return false }
        return await queue.send(buffer)
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
