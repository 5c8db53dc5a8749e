import AsyncHTTPClient
import Foundation
import HeraldCore
import HeraldLoopback
import Histogram
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// `pairs` 1:1 conversations over WebSocket at `rate` messages per second in total: each sender
/// sends `message.send` frames on a fixed schedule; the time to its `ack` (after the commit) and to
/// the peer's `message.created` are recorded with HDR histograms, from the time each send was
/// *scheduled*: a sender held up (by a busy core, a slow server) does not hide the delay, which
/// would understate every percentile (coordinated omission). Fails unless every receiver got every
/// message exactly once, in seq order. Every socket connects before the schedule and the CPU
/// windows start.
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
        /// Each ack's time (nanoseconds from `origin`) and latency, when `keepsAckTimes`: for the figures of
        /// a window within the run (`inbox-fanout`: the acks while the fan-out ran, not the whole run).
        private let ackTimes = Mutex<[(at: Int64, microseconds: UInt64)]>([])
        let keepsAckTimes: Bool

        init(keepsAckTimes: Bool = false) { self.keepsAckTimes = keepsAckTimes }

        func ack(_ microseconds: UInt64) {
            state.withLock { _ = $0.ack.record(microseconds) }
            if keepsAckTimes {
                let at = LatencyScenario.nanos(at: .now)
                ackTimes.withLock { $0.append((at, microseconds)) }
            }
        }
        func delivery(_ microseconds: UInt64) { state.withLock { _ = $0.delivery.record(microseconds) } }
        var histograms: (ack: Histogram<UInt64>, delivery: Histogram<UInt64>) { state.withLock { $0 } }

        /// The acks received between `start` and `end` (and how many).
        func acks(from start: ContinuousClock.Instant, to end: ContinuousClock.Instant) -> Histogram<UInt64> {
            let (from, to) = (LatencyScenario.nanos(at: start), LatencyScenario.nanos(at: end))
            var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000)
            for sample in ackTimes.withLock({ $0 }) where (from...to).contains(sample.at) { _ = histogram.record(sample.microseconds) }
            return histogram
        }
    }

    /// What one receiver saw: seqs in arrival order.
    final class Received: Sendable {
        private let seqs = Mutex<[Int64]>([])
        func add(_ seq: Int64) { seqs.withLock { $0.append(seq) } }
        var all: [Int64] { seqs.withLock { $0 } }
    }

    static let origin = ContinuousClock.now

    /// Nanoseconds from the origin to `instant`.
    static func nanos(at instant: ContinuousClock.Instant) -> Int64 {
        let elapsed = instant - origin
        return elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
    }

    func run(on server: BenchServer) async throws -> BenchResult {
        try await server.session { target, api, fsync in try await measure(target: target, api: api, fsync: fsync) }
    }

    /// - Parameter recorder: where the latencies go (one of the caller's, to read a window of them after).
    func measure(target: BenchTarget, api: BenchAPI, fsync: Double, recorder: Recorder = Recorder()) async throws -> BenchResult {
        let conversations = try await api.directPairs(pairs)
        let perSender = max(1, rate * Int(duration.components.seconds) / pairs)
        let interval = Duration.nanoseconds(Int64(1_000_000_000) * Int64(pairs) / Int64(rate))
        let received = (0..<pairs).map { _ in Received() }
        let issued = try await api.tokens(for: conversations)
        var serverCPUBefore: ServerUsage?
        var ownCPUBefore = 0.0
        var started = ContinuousClock.now
        let gate = StartGate()
        try await withThrowingTaskGroup(of: Void.self) { group in
            try await ReceiverGroup.connect(pairs, into: &group, url: { target.realtimeURL(node: $0) }, messages: perSender, token: { issued[$0].receiver }) { index, frame in
                guard frame.kind == .messageCreated, let sent = frame.sentNanos, let seq = frame.seq else { return }
                recorder.delivery(frame.microseconds(since: sent))
                received[index].add(seq)
            }
            for (index, conversation) in conversations.enumerated() {
                await gate.admit(index)
                group.addTask {
                    do {
                        try await BenchSocket.send(
                            url: target.realtimeURL(node: index + 1), token: issued[index].sender, channel: conversation.channel, count: perSender, interval: interval,
                            offset: interval * index / pairs, gate: gate, recorder: recorder)
                    } catch {
                        gate.abandon()
                        throw error
                    }
                }
            }
            guard await gate.allArrived(pairs) else { throw Failure(description: "a sender could not connect") }
            serverCPUBefore = target.usage()
            ownCPUBefore = ProcessUsage.ownCPUSeconds()
            started = gate.open()
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
                + BenchResult.latencies("delivery", delivery) + target.cpuFigures(since: serverCPUBefore, bench: ownCPU))
    }
}

/// The Platform API calls the scenarios set up with, and the business's sends.
struct BenchAPI: Sendable {
    /// The business's backend is a process of its own in production: its calls run on an event loop of
    /// their own here, so a `201` is not read behind a thousand customers' sockets on the loops the
    /// receivers share (in `fanout`, that queue set the pace of the business's next send).
    static let backend = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup(numberOfThreads: 1), configuration: .singletonConfiguration)

    let base: String
    let apiKey: String
    /// The run's prefix for user ids (`BenchServer.run`).
    let run: String

    /// The id of the run's user `name`.
    func user(_ name: String) -> String { run + name }

    /// - Parameter bearer: the credential, the app's API key unless given (a user token).
    @discardableResult
    func call(_ method: HTTPMethod, _ path: String, body: String? = nil, bearer: String? = nil, expect: Set<Int>) async throws -> Data {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(bearer ?? apiKey)")
        request.headers.add(name: "Content-Type", value: "application/json")
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await Self.backend.execute(request, timeout: .seconds(60))
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
