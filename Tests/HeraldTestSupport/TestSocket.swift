import Foundation
import HTTPTypes
public import HeraldCore
import HummingbirdWSClient
import Logging
import NIOWebSocket

/// A real WebSocket client for tests: frames arrive as `events`; `send` writes text frames.
///
/// `reading: false` leaves incoming frames unread (in the kernel's buffers) until `startReading()`,
/// to play a slow consumer.
public final class TestSocket {
    public enum Event: Sendable {
        case frame(ServerFrame)
        case unreadable(String)
        case closed(code: Int?)
    }

    private var iterator: AsyncStream<Event>.Iterator
    private let outgoing: AsyncStream<String>.Continuation
    private let readGate: AsyncStream<Void>.Continuation
    private let task: Task<Void, Never>

    /// How the socket authenticates.
    public enum Auth: Sendable {
        case header(String)
        case frame(String)
        case none
    }

    /// - Parameter origin: an `Origin` header, as a browser page sends.
    public init(port: Int, auth: Auth, reading: Bool = true, host: String = "127.0.0.1", origin: String? = nil) {
        let (events, eventSink) = AsyncStream<Event>.makeStream()
        let (outgoingStream, outgoing) = AsyncStream<String>.makeStream()
        let (gate, readGate) = AsyncStream<Void>.makeStream()
        if reading { readGate.yield() }
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 22)
        if case .header(let token) = auth { configuration.additionalHeaders[.authorization] = "Bearer \(token)" }
        if let origin { configuration.additionalHeaders[.origin] = origin }
        if case .frame(let token) = auth { outgoing.yield(#"{"type":"auth","token":"\#(token)"}"#) }
        var logger = Logger(label: "test.socket")
        logger.logLevel = .critical
        task = Task { [configuration, logger] in
            do {
                let close = try await WebSocketClient.connect(url: "ws://\(host):\(port)/v1/realtime", configuration: configuration, logger: logger) {
                    inbound, outbound, _ in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for await text in outgoingStream { try await outbound.write(.text(text)) }
                            try await outbound.close(.normalClosure, reason: nil)
                        }
                        group.addTask {
                            for await _ in gate { break }
                            for try await message in inbound.messages(maxSize: 1 << 22) {
                                guard case .text(let text) = message else { continue }
                                if let frame = try? WireJSON.decoder().decode(ServerFrame.self, from: Data(text.utf8)) {
                                    eventSink.yield(.frame(frame))
                                } else {
                                    eventSink.yield(.unreadable(text))
                                }
                            }
                        }
                        try await group.next()
                        group.cancelAll()
                    }
                }
                eventSink.yield(.closed(code: close.map { Int(UInt16(webSocketErrorCode: $0.closeCode)) }))
            } catch {
                eventSink.yield(.closed(code: nil))
            }
            eventSink.finish()
        }
        self.iterator = events.makeAsyncIterator()
        self.outgoing = outgoing
        self.readGate = readGate
    }

    deinit {
        outgoing.finish()
        readGate.finish()
        task.cancel()
    }

    public func send(_ text: String) { outgoing.yield(text) }

    public func send(message text: String, to channel: ChannelID, clientMessageID: String) {
        send(#"{"type":"message.send","channelId":"\#(channel)","clientMessageId":"\#(clientMessageID)","text":"\#(text)"}"#)
    }

    public func startReading() { readGate.yield() }

    /// Closes from the client side (1000) and waits until the connection is gone.
    public func close() async {
        outgoing.finish()
        while let event = await iterator.next() {
            if case .closed = event { break }
        }
    }

    /// The next event, whatever it is.
    public func nextEvent() async -> Event? { await iterator.next() }

    /// The next frame of `type`, skipping others; nil if the connection closed first.
    public func next(_ type: String) async -> ServerFrame? {
        while let event = await iterator.next() {
            switch event {
            case .frame(let frame) where frame.type == type: return frame
            case .closed: return nil
            default: continue
            }
        }
        return nil
    }

    /// The close code, skipping any frames before it.
    public func closeCode() async -> Int? {
        while let event = await iterator.next() {
            if case .closed(let code) = event { return code }
        }
        return nil
    }

    /// Authenticated and registered: waits for `ready`.
    @discardableResult
    public func ready() async -> Bool { await next("ready") != nil }
}
