public import Foundation
public import HeraldCore
import AsyncHTTPClient
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOWebSocket
import Synchronization

/// The Herald SDK: the customer's secure inbox, chat and approvals, with reconnects, ordering and
/// sender verification handled for the app.
///
/// ```swift
/// let client = HeraldClient(configuration: .init(
///     serverURL: URL(string: "https://herald.acme-bank.example")!, appID: appID,
///     tokenProvider: { try await myBackend.heraldToken() }))
/// Task { await client.run() }                      // connects, and reconnects until cancelled
/// try await client.follow(channelID)
/// for await event in client.events { ... }          // messages exactly once, in seq order
/// let sent = try await client.send(text: "Hello", to: channelID)
/// ```
///
/// Messages of every followed channel (and of any channel a message arrives for) reach ``events``
/// exactly once and in `seq` order: the client remembers the last seq it delivered (in its
/// ``CursorStore``), asks the server for what it missed after each reconnect (`sync`), drops
/// duplicates and holds back anything that arrives ahead of a gap until the gap is filled.
/// Sends wait in an outbox until the server acknowledges them (after its commit); after a reconnect
/// they go again with the same `clientMessageId`, so a retry never makes a second message.
public actor HeraldClient {
    public struct Configuration: Sendable {
        /// `https://host[:port]` (or `http://` for a local server); the WebSocket URL is derived from it.
        public var serverURL: URL
        public var appID: AppID
        /// Returns a user token, asked of the app's own backend (which calls `POST /v1/users/{id}/tokens`).
        /// Called on connect, and again when the server refuses the token (close 4401, HTTP 401).
        public var tokenProvider: @Sendable () async throws -> String
        public var cursors: any CursorStore
        /// The app's signing keys, bundled with the app. When nil they are fetched once from
        /// `GET /v1/apps/{appId}/keys` and pinned for the life of the client.
        public var pinnedKeys: JWKSet?
        /// Reconnect backoff: the first wait, doubled per failed attempt up to `maximum`, with jitter.
        public var reconnectDelay: Duration = .milliseconds(250)
        public var maximumReconnectDelay: Duration = .seconds(30)
        /// Keepalive pings on the realtime connection.
        public var pingInterval: Duration = .seconds(20)
        /// How long a WebSocket handshake may take before the attempt is given up and retried.
        public var handshakeTimeout: Duration = .seconds(15)

        public init(
            serverURL: URL, appID: AppID, tokenProvider: @escaping @Sendable () async throws -> String, cursors: any CursorStore = InMemoryCursorStore(),
            pinnedKeys: JWKSet? = nil
        ) {
            self.serverURL = serverURL
            self.appID = appID
            self.tokenProvider = tokenProvider
            self.cursors = cursors
            self.pinnedKeys = pinnedKeys
        }
    }

    struct PendingSend {
        var id: ClientMessageID
        var frame: String
    }

    public let configuration: Configuration
    /// Every event, in order. Unbounded: a slow reader makes the client buffer, never drop.
    public nonisolated let events: AsyncStream<HeraldEvent>
    private let eventSink: AsyncStream<HeraldEvent>.Continuation
    let transport: HTTPTransport
    private let tokens: TokenSource
    private let logger: Logger

    private(set) public var state: ConnectionState = .disconnected
    /// The current connection's outgoing frames, once it is ready.
    private var writer: AsyncStream<String>.Continuation?
    /// The same stream from the moment the connection is opened.
    private var connectionSink: AsyncStream<String>.Continuation?
    /// The attempt in progress, so that `stop()` can give up its handshake.
    private var attempt: ConnectionAttempt?
    private var lastSeq: [ChannelID: Int64] = [:]
    private var heldBack: [ChannelID: [Int64: Message]] = [:]
    private var syncing: Set<ChannelID> = []
    private var outbox: [PendingSend] = []
    private var waitingForAck: [ClientMessageID: CheckedContinuation<Message, any Error>] = [:]
    private var waitingForEmptyOutbox: [CheckedContinuation<Void, Never>] = []
    private var verifier: SenderVerifier?
    private var isRunning = false
    private var isStopping = false

    public init(configuration: Configuration) {
        self.configuration = configuration
        (events, eventSink) = AsyncStream.makeStream(of: HeraldEvent.self, bufferingPolicy: .unbounded)
        tokens = TokenSource(provider: configuration.tokenProvider)
        transport = HTTPTransport(baseURL: configuration.serverURL, http: .shared, tokens: tokens)
        verifier = configuration.pinnedKeys.map { SenderVerifier(app: configuration.appID, keys: $0) }
        var logger = Logger(label: "herald.client")
        logger.logLevel = .warning
        self.logger = logger
    }

    // MARK: Connection

    /// Connects and keeps the realtime connection up, reconnecting with exponential backoff and
    /// jitter, until the calling task is cancelled. Then it closes the connection, fails pending
    /// sends with ``HeraldClientError/stopped`` and finishes ``events``.
    public func run() async {
        guard !isRunning else { return }
        isRunning = true
        for channel in await configuration.cursors.channels() where lastSeq[channel] == nil {
            lastSeq[channel] = await configuration.cursors.lastSeq(of: channel)
        }
        var failures = 0
        var refreshToken = false
        while !Task.isCancelled, !isStopping {
            setState(.connecting)
            let outcome = await connectOnce(refreshToken: refreshToken)
            writer = nil
            syncing.removeAll()
            if Task.isCancelled || isStopping { break }
            // A refused token (close 4401, or a 401 that failed the upgrade) is asked for anew; so is the
            // token after any attempt that never got to `ready`, as the failure may have been the token.
            refreshToken = outcome != .wasConnected
            failures = outcome == .wasConnected ? 1 : failures + 1
            setState(.waitingToReconnect(attempt: failures))
            await sleepUnlessStopped(for: backoff(after: failures))
        }
        setState(.disconnected)
        for continuation in waitingForAck.values { continuation.resume(throwing: HeraldClientError.stopped) }
        waitingForAck.removeAll()
        releaseEmptyOutboxWaiters(force: true)
        eventSink.finish()
        isRunning = false
    }

    /// Ends ``run()`` as cancelling its task would: the connection is closed, pending sends fail
    /// with ``HeraldClientError/stopped``, and ``events`` finishes once the app has read what was
    /// delivered before. A WebSocket handshake in progress is given up.
    public func stop() {
        isStopping = true
        connectionSink?.finish()
        attempt?.abandonHandshake()
    }

    enum Outcome { case wasConnected, failed, tokenRefused }

    /// One connection, from the handshake to its close. `stop()` ends it by finishing its outgoing
    /// stream, which closes the socket, and gives up a handshake in progress.
    ///
    /// The connection runs in a task of its own rather than as a child of this one, because a stuck
    /// handshake cannot be cancelled (see `ConnectionAttempt`): structured, it would hold `run()` for
    /// ever. Cancelling `run()`'s task cancels it and gives up its handshake.
    private func connectOnce(refreshToken: Bool) async -> Outcome {
        let token: String
        do {
            try await ensureVerifier()
            token = try await tokens.current(refresh: refreshToken)
        } catch {
            logger.debug("connection failed", metadata: ["error": "\(error)"])
            return .failed
        }
        var webSocket = WebSocketClientConfiguration(maxFrameSize: 1 << 22, autoPing: .enabled(timePeriod: configuration.pingInterval))
        webSocket.additionalHeaders[.authorization] = "Bearer \(token)"
        let (outgoing, sink) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .unbounded)
        let attempt = ConnectionAttempt()
        // Known before `ready`, so that `stop()` during the handshake still ends this connection.
        connectionSink = sink
        self.attempt = attempt
        defer {
            connectionSink = nil
            self.attempt = nil
        }
        if isStopping {
            sink.finish()
            attempt.abandonHandshake()
        }
        let wasReady = ReadyFlag()
        let closeCode = CloseCodeBox()
        let url = realtimeURL
        let logger = logger
        let connection = Task {
            defer { attempt.end() }
            do {
                let close = try await WebSocketClient.connect(url: url, configuration: webSocket, logger: logger) { inbound, outbound, _ in
                    guard attempt.open() else { return }
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for await text in outgoing { try await outbound.write(.text(text)) }
                            // The stream ends on `stop()`: close the connection rather than wait for the server.
                            try await outbound.close(.normalClosure, reason: nil)
                        }
                        group.addTask {
                            for try await message in inbound.messages(maxSize: 1 << 22) {
                                guard case .text(let text) = message else { continue }
                                if await self.receive(text, writer: sink) { wasReady.set() }
                            }
                        }
                        try await group.next()
                        group.cancelAll()
                    }
                }
                closeCode.set(close.map { UInt16(webSocketErrorCode: $0.closeCode) })
            } catch {
                logger.debug("connection failed", metadata: ["error": "\(error)"])
            }
        }
        let timeout = configuration.handshakeTimeout
        let timer = Task {
            try await Task.sleep(for: timeout)
            attempt.abandonHandshake()
        }
        let outcome = await withTaskCancellationHandler {
            await attempt.outcome()
        } onCancel: {
            attempt.abandonHandshake()
            connection.cancel()
        }
        timer.cancel()
        sink.finish()
        if outcome == .abandoned {
            logger.debug("handshake given up")
            return .failed
        }
        if closeCode.value == RealtimeCloseCode.unauthenticated.rawValue { return .tokenRefused }
        return wasReady.isSet ? .wasConnected : .failed
    }

    private var realtimeURL: String {
        var components = URLComponents(url: configuration.serverURL.appendingPathComponent("v1/realtime"), resolvingAgainstBaseURL: false)!
        components.scheme = components.scheme == "https" ? "wss" : "ws"
        return components.url!.absoluteString
    }

    /// Waits out a backoff in short slices, so that `stop()` or cancellation ends it early.
    private func sleepUnlessStopped(for duration: Duration) async {
        let end = ContinuousClock.now + duration
        while !isStopping, !Task.isCancelled, ContinuousClock.now < end {
            try? await Task.sleep(for: min(.milliseconds(100), end - ContinuousClock.now))
        }
    }

    private func backoff(after failures: Int) -> Duration {
        let base = Double(configuration.reconnectDelay.components.seconds) + Double(configuration.reconnectDelay.components.attoseconds) / 1e18
        let cap = Double(configuration.maximumReconnectDelay.components.seconds)
        let full = min(cap, base * pow(2, Double(max(0, failures - 1))))
        return .milliseconds(Int64(Double.random(in: full / 2...full) * 1000))
    }

    private func setState(_ new: ConnectionState) {
        guard new != state else { return }
        state = new
        eventSink.yield(.connectionStateChanged(new))
    }

    // MARK: Frames

    /// Handles one server frame; true for `ready`.
    private func receive(_ text: String, writer sink: AsyncStream<String>.Continuation) async -> Bool {
        guard let frame = try? WireJSON.decoder().decode(ServerFrame.self, from: Data(text.utf8)) else {
            logger.warning("unreadable frame")
            return false
        }
        switch frame {
        case .ready:
            writer = sink
            for channel in lastSeq.keys { requestSync(channel) }
            for pending in outbox { sink.yield(pending.frame) }
            setState(.connected)
            return true
        case .messageCreated(let message):
            await accept(message)
        case .ack(let id, let message):
            // Delivered to `events` before the send returns, so an app that stops after its last
            // send still sees that message.
            await accept(message)
            outbox.removeAll { $0.id == id }
            waitingForAck.removeValue(forKey: id)?.resume(returning: message)
            releaseEmptyOutboxWaiters()
        case .messageUpdated(let message):
            if let last = lastSeq[message.channelId], message.seq <= last { eventSink.yield(.messageUpdated(message, verify(message))) }
        case .messageDeleted(let message):
            if let last = lastSeq[message.channelId], message.seq <= last { eventSink.yield(.messageDeleted(message)) }
        case .syncDone(let channel, let serverLast):
            syncing.remove(channel)
            // The server sent everything it had up to `serverLast`: a gap at or below it will never fill
            // (a seq spent by a send the server refused, on a server before that was fixed), and asking
            // again would loop for ever; it is skipped. Held messages above it may still have a predecessor
            // on its way from another node: those wait for the next sync.
            if heldBack[channel]?.isEmpty == false {
                await releaseAcrossPermanentGaps(channel, upTo: serverLast)
                if heldBack[channel]?.isEmpty == false { requestSync(channel) }
            }
        case .read(let position):
            eventSink.yield(.read(position))
        case .typing(let channel, let user):
            eventSink.yield(.typing(channel: channel, user: user))
        case .inboxCreated(let item):
            eventSink.yield(.inboxItemCreated(item, verify(item)))
        case .error(let code, let detail, let id):
            guard let id else {
                logger.warning("server refused a frame", metadata: ["code": "\(code)", "detail": "\(detail)"])
                return false
            }
            outbox.removeAll { $0.id == id }
            waitingForAck.removeValue(forKey: id)?.resume(throwing: HeraldClientError.sendRefused(code: code, detail: detail))
            releaseEmptyOutboxWaiters()
        }
        return false
    }

    /// Delivers `message` if it is the next of its channel, drops it if already delivered, holds it
    /// back (and asks for the gap) if it is ahead.
    private func accept(_ message: Message) async {
        let channel = message.channelId
        let last = lastSeq[channel] ?? (message.seq - 1)
        if message.seq <= last { return }
        guard message.seq == last + 1 else {
            heldBack[channel, default: [:]][message.seq] = message
            if lastSeq[channel] == nil { lastSeq[channel] = last }
            requestSync(channel)
            return
        }
        var next = message
        var delivered = last
        while true {
            delivered = next.seq
            lastSeq[channel] = delivered
            eventSink.yield(.messageCreated(next, verify(next)))
            guard let following = heldBack[channel]?.removeValue(forKey: delivered + 1) else { break }
            next = following
        }
        if heldBack[channel]?.isEmpty == true { heldBack[channel] = nil }
        await configuration.cursors.setLastSeq(delivered, of: channel)
    }

    /// Delivers the held-back messages of `channel` up to `limit` in seq order, across the gaps a completed
    /// sync proved permanent, then those that follow on without a gap.
    private func releaseAcrossPermanentGaps(_ channel: ChannelID, upTo limit: Int64) async {
        guard var held = heldBack[channel], let smallest = held.keys.min(), smallest <= limit else { return }
        logger.warning("seqs that never arrive were skipped", metadata: ["channel": "\(channel)", "before": "\(smallest)"])
        var delivered = lastSeq[channel] ?? 0
        for seq in held.keys.sorted() where seq > delivered && (seq <= limit || seq == delivered + 1) {
            delivered = seq
            lastSeq[channel] = seq
            eventSink.yield(.messageCreated(held[seq]!, verify(held[seq]!)))
            held.removeValue(forKey: seq)
        }
        held = held.filter { $0.key > delivered }
        heldBack[channel] = held.isEmpty ? nil : held
        await configuration.cursors.setLastSeq(delivered, of: channel)
    }

    private func requestSync(_ channel: ChannelID) {
        guard let writer, !syncing.contains(channel) else { return }
        syncing.insert(channel)
        writer.yield(ClientFrame.sync(channelID: channel, afterSeq: lastSeq[channel] ?? 0).text)
    }

    var hasVerifier: Bool { verifier != nil }

    func pin(_ keys: JWKSet) {
        if verifier == nil { verifier = SenderVerifier(app: configuration.appID, keys: keys) }
    }

    func verify(_ message: Message) -> Verification {
        verifier?.verify(message) ?? (message.sender == nil ? .unverified(reason: "no pinned keys yet") : .fromUser)
    }

    func verify(_ item: InboxItem) -> Verification {
        verifier?.verify(item) ?? .unverified(reason: "no pinned keys yet")
    }

    // MARK: Channels and messages

    /// Follows a channel: its new messages reach ``events``, and it is resumed after every
    /// reconnect. Starts after `seq` when given, else where the cursor store left off, else at the
    /// channel's current end (load older messages with ``history(of:after:before:limit:)``).
    public func follow(_ channel: ChannelID, after seq: Int64? = nil) async throws {
        let start: Int64
        if let seq {
            start = seq
        } else if let known = lastSeq[channel] {
            start = known
        } else if let stored = await configuration.cursors.lastSeq(of: channel) {
            start = stored
        } else {
            start = try await transport.get("/v1/channels/\(channel.rawValue)", as: Channel.self).lastSeq
        }
        lastSeq[channel] = start
        await configuration.cursors.setLastSeq(start, of: channel)
        requestSync(channel)
    }

    /// Sends a message and returns it as stored (with its seq) once the server committed it. Waits
    /// in the outbox while disconnected.
    /// - Throws: ``HeraldClientError/sendRefused(code:detail:)`` when the server refuses it (not a
    ///   member, too long, ...), ``HeraldClientError/stopped`` when the client stops first.
    public func send(text: String, data: [String: JSONValue]? = nil, to channel: ChannelID) async throws -> Message {
        let id = ClientMessageID(rawValue: "c-\(UUID().uuidString.lowercased())")!
        let frame = ClientFrame.send(channelID: channel, clientMessageID: id, content: MessageContent(text: text, data: data)).text
        outbox.append(PendingSend(id: id, frame: frame))
        if state == .connected { writer?.yield(frame) }
        return try await withCheckedThrowingContinuation { continuation in waitingForAck[id] = continuation }
    }

    /// Sends not yet acknowledged.
    public var pendingSends: Int { outbox.count }

    /// Returns once every send so far is acknowledged or refused (or the client stopped).
    public func waitUntilOutboxIsEmpty() async {
        if outbox.isEmpty { return }
        await withCheckedContinuation { waitingForEmptyOutbox.append($0) }
    }

    private func releaseEmptyOutboxWaiters(force: Bool = false) {
        guard outbox.isEmpty || force else { return }
        let waiters = waitingForEmptyOutbox
        waitingForEmptyOutbox = []
        for waiter in waiters { waiter.resume() }
    }

    /// The user's channels with unread counts and last messages.
    public func channels() async throws -> [ChannelSummary] {
        struct List: Decodable { var channels: [ChannelSummary] }
        return try await transport.get("/v1/me/channels", as: List.self).channels
    }

    /// A page of history in seq order: forwards after `after`, or backwards from `before` (the
    /// newest `limit` when both are nil).
    public func history(of channel: ChannelID, after: Int64? = nil, before: Int64? = nil, limit: Int = 50) async throws -> [VerifiedMessage] {
        // Without either bound the server answers the newest page; seqs beyond 2^53 are refused (422).
        let query: [(String, String?)] = [("limit", String(limit)), ("after", after.map(String.init)), ("before", before.map(String.init))]
        let page = try await transport.get("/v1/channels/\(channel.rawValue)/messages", query: query, as: MessagePage.self)
        return page.messages.map { VerifiedMessage(message: $0, verification: verify($0)) }
    }

    /// Moves the user's read position (other members and devices see a `read` event).
    public func markRead(_ channel: ChannelID, upTo seq: Int64) async throws {
        if state == .connected, let writer {
            writer.yield(ClientFrame.read(channelID: channel, seq: seq).text)
        } else {
            _ = try await transport.post("/v1/channels/\(channel.rawValue)/read", body: .object(["seq": .number(Double(seq))]), as: ReadPosition.self)
        }
    }

    /// Tells the other members that the user is typing (only while connected; never stored).
    public func typing(in channel: ChannelID) {
        guard state == .connected else { return }
        writer?.yield(ClientFrame.typing(channelID: channel).text)
    }
}

/// A message with what the client found of its sender.
public struct VerifiedMessage: Sendable, Equatable {
    public var message: Message
    public var verification: Verification
}

/// Set once the server said `ready` on a connection.
final class ReadyFlag: Sendable {
    private let flag = Synchronization.Mutex(false)
    func set() { flag.withLock { $0 = true } }
    var isSet: Bool { flag.withLock { $0 } }
}

/// The close code a connection ended with, set by its task and read once the attempt is over.
final class CloseCodeBox: Sendable {
    private let code = Synchronization.Mutex<UInt16?>(nil)
    func set(_ value: UInt16?) { code.withLock { $0 = value } }
    var value: UInt16? { code.withLock { $0 } }
}
