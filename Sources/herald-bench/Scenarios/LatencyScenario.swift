import AsyncHTTPClient
import Foundation
import HeraldCore
import HeraldLoopback
import Histogram
import HummingbirdWSClient
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// `pairs` 1:1 conversations over WebSocket at `rate` messages per second in total: each sender
/// sends `message.send` frames on a fixed schedule; the time to its `ack` (after the commit) and to
/// the peer's `message.created` are recorded with HDR histograms. Fails unless every receiver got
/// every message exactly once, in seq order.
struct LatencyScenario {
    let pairs: Int
    let rate: Int
    let duration: Duration

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Latencies in microseconds, shared by every connection's reader.
    final class Recorder: Sendable {
        private let state = Mutex((ack: Histogram<UInt64>(highestTrackableValue: 60_000_000), delivery: Histogram<UInt64>(highestTrackableValue: 60_000_000)))
        func ack(_ microseconds: UInt64) { state.withLock { _ = $0.ack.record(microseconds) } }
        func delivery(_ microseconds: UInt64) { state.withLock { _ = $0.delivery.record(microseconds) } }
        var histograms: (ack: Histogram<UInt64>, delivery: Histogram<UInt64>) { state.withLock { $0 } }
    }

    /// What one receiver saw: seqs in arrival order.
    final class Received: Sendable {
        private let seqs = Mutex<[Int64]>([])
        func add(_ seq: Int64) { seqs.withLock { $0.append(seq) } }
        var all: [Int64] { seqs.withLock { $0 } }
    }

    static let origin = ContinuousClock.now

    static func elapsedMicroseconds(since nanos: Int64) -> UInt64 {
        UInt64(max(0, (ContinuousClock.now - origin).microseconds - nanos / 1000))
    }

    func run(on server: BenchServer) async throws -> BenchResult {
        try await server.session { target, api, fsync in try await measure(target: target, api: api, fsync: fsync) }
    }

    func measure(target: BenchTarget, api: BenchAPI, fsync: Double) async throws -> BenchResult {
        let conversations = try await api.directPairs(pairs)
        let perSender = max(1, rate * Int(duration.components.seconds) / pairs)
        let interval = Duration.nanoseconds(Int64(1_000_000_000) * Int64(pairs) / Int64(rate))
        let recorder = Recorder()
        let received = (0..<pairs).map { _ in Received() }
        let issued = try await api.tokens(for: conversations)
        let serverCPUBefore = target.cpuSeconds()
        let ownCPUBefore = ProcessUsage.ownCPUSeconds()
        var started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            try await ReceiverGroup.connect(pairs, into: &group, url: { target.realtimeURL(node: $0) }, messages: perSender, token: { issued[$0].receiver }) { index, frame in
                guard case .messageCreated(let message) = frame, let nanos = Int64(message.text.dropFirst(2)) else { return }
                recorder.delivery(Self.elapsedMicroseconds(since: nanos))
                received[index].add(message.seq)
            }
            started = ContinuousClock.now
            for (index, conversation) in conversations.enumerated() {
                group.addTask {
                    try await BenchSocket.send(
                        url: target.realtimeURL(node: index + 1), token: issued[index].sender, channel: conversation.channel, count: perSender, interval: interval,
                        offset: interval * index / pairs, recorder: recorder)
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - started
        let ownCPU = ProcessUsage.ownCPUSeconds() - ownCPUBefore
        for (index, receiver) in received.enumerated() where receiver.all != Array(1...Int64(perSender)) {
            throw Failure(description: "receiver \(index) got \(receiver.all.count) of \(perSender) messages, or out of order")
        }
        let (ack, delivery) = recorder.histograms
        let total = perSender * pairs
        return BenchResult(
            scenario: "latency",
            parameters: [
                ("pairs", "\(pairs)"), ("target_rate_per_second", "\(rate)"), ("messages", "\(total)"), ("durability", target.durability),
                ("build", PushScenario.build),
            ],
            figures: [("messages_per_second", Double(total) / elapsed.seconds), ("fsync_p50_ms", fsync)] + BenchResult.latencies("ack", ack)
                + BenchResult.latencies("delivery", delivery) + target.cpuFigures(since: serverCPUBefore) + [("bench_cpu_seconds", ownCPU)])
    }
}

/// The Platform API calls the scenarios set up with.
struct BenchAPI: Sendable {
    let base: String
    let apiKey: String
    /// The run's prefix for user ids (`BenchServer.run`).
    let run: String

    /// The id of the run's user `name`.
    func user(_ name: String) -> String { run + name }

    @discardableResult
    func call(_ method: HTTPMethod, _ path: String, body: String? = nil, expect: Set<Int>) async throws -> Data {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        request.headers.add(name: "Content-Type", value: "application/json")
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        guard expect.contains(Int(response.status.code)) else {
            throw LatencyScenario.Failure(description: "\(method) \(path) answered \(response.status.code): \(String(buffer: bytes))")
        }
        return Data(bytes.readableBytesView)
    }

    /// `count` direct channels between the run's users `s<i>` and `r<i>`.
    func directPairs(_ count: Int) async throws -> [(sender: String, receiver: String, channel: String)] {
        var conversations: [(sender: String, receiver: String, channel: String)] = []
        for index in 0..<count {
            let (sender, receiver) = (user("s\(index)"), user("r\(index)"))
            try await call(.PUT, "/v1/users/\(sender)", body: "{}", expect: [200, 201])
            try await call(.PUT, "/v1/users/\(receiver)", body: "{}", expect: [200, 201])
            let channel = try await call(.POST, "/v1/channels", body: #"{"type":"direct","members":["\#(sender)","\#(receiver)"]}"#, expect: [201])
            conversations.append((sender, receiver, try Self.id(in: channel)))
        }
        return conversations
    }

    static func id(in body: Data) throws -> String {
        guard case .object(let fields) = try JSONValue.parse(body), case .string(let id)? = fields["id"] else {
            throw LatencyScenario.Failure(description: "no id in \(String(decoding: body, as: UTF8.self))")
        }
        return id
    }

    /// A token for each sender and receiver.
    func tokens(for conversations: [(sender: String, receiver: String, channel: String)]) async throws -> [(sender: String, receiver: String)] {
        var tokens: [(sender: String, receiver: String)] = []
        for conversation in conversations { tokens.append((try await token(conversation.sender), try await token(conversation.receiver))) }
        return tokens
    }

    func token(_ user: String) async throws -> String {
        let data = try await call(.POST, "/v1/users/\(user)/tokens", expect: [201])
        guard case .object(let fields) = try JSONValue.parse(data), case .string(let token)? = fields["token"] else {
            throw LatencyScenario.Failure(description: "no token")
        }
        return token
    }
}

/// The benchmark's WebSocket clients: a receiver that reads until it has `count` messages, and a
/// sender that sends on a schedule and records the time to each `ack`.
enum BenchSocket {
    static func configuration(token: String) -> WebSocketClientConfiguration {
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 22)
        configuration.additionalHeaders[.authorization] = "Bearer \(token)"
        return configuration
    }

    static var logger: Logger {
        var logger = Logger(label: "bench.socket")
        logger.logLevel = .critical
        return logger
    }

    static func receive(url: String, token: String, count: Int, onFrame: @escaping @Sendable (ServerFrame) -> Void) async throws {
        _ = try await WebSocketClient.connect(url: url, configuration: configuration(token: token), logger: logger) {
            inbound, outbound, _ in
            var messages = 0
            for try await message in inbound.messages(maxSize: 1 << 22) {
                guard case .text(let text) = message, let frame = try? WireJSON.decoder().decode(ServerFrame.self, from: Data(text.utf8)) else { continue }
                onFrame(frame)
                if case .messageCreated = frame { messages += 1 }
                if messages == count { break }
            }
            try await outbound.close(.normalClosure, reason: nil)
        }
    }

    static func send(
        url: String, token: String, channel: String, count: Int, interval: Duration, offset: Duration, recorder: LatencyScenario.Recorder
    ) async throws {
        _ = try await WebSocketClient.connect(url: url, configuration: configuration(token: token), logger: logger) {
            inbound, outbound, _ in
            let sentAt = SendTimes()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    var acks = 0
                    for try await message in inbound.messages(maxSize: 1 << 22) {
                        guard case .text(let text) = message, case .ack(let id, _)? = try? WireJSON.decoder().decode(ServerFrame.self, from: Data(text.utf8)),
                            let nanos = sentAt.take(id.rawValue)
                        else { continue }
                        recorder.ack(LatencyScenario.elapsedMicroseconds(since: nanos))
                        acks += 1
                        if acks == count { return }
                    }
                }
                try await Task.sleep(for: offset)
                let start = ContinuousClock.now
                for index in 0..<count {
                    try await Task.sleep(until: start + interval * index)
                    let nanos = (ContinuousClock.now - LatencyScenario.origin).microseconds * 1000
                    let id = "b\(index)"
                    sentAt.record(id, nanos)
                    try await outbound.write(.text(#"{"type":"message.send","channelId":"\#(channel)","clientMessageId":"\#(id)","text":"t=\#(nanos)"}"#))
                }
                try await group.next()
            }
            try await outbound.close(.normalClosure, reason: nil)
        }
    }
}

/// When each send of one connection left, by `clientMessageId`, until its ack.
final class SendTimes: Sendable {
    private let times = Mutex<[String: Int64]>([:])
    func record(_ id: String, _ nanos: Int64) { times.withLock { $0[id] = nanos } }
    func take(_ id: String) -> Int64? { times.withLock { $0.removeValue(forKey: id) } }
}
