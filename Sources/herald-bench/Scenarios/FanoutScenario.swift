import Foundation
import HeraldCore
import HeraldLoopback
import Histogram
import Synchronization

/// One message to a group of `members`, all online: the business sends `messages` messages one after
/// another through the Platform API; every member's socket times each delivery from the send. Reports
/// deliveries per second and the time to the last member of each message. Every member must get
/// every message exactly once, in order.
struct FanoutScenario {
    let members: Int
    let messages: Int

    /// The latest arrival of each message (by seq), in microseconds since the send.
    final class Last: Sendable {
        private let state = Mutex<[Int64: UInt64]>([:])
        func record(_ seq: Int64, _ microseconds: UInt64) { state.withLock { $0[seq] = max($0[seq] ?? 0, microseconds) } }
        var values: [UInt64] { state.withLock { Array($0.values) } }
    }

    func run(on server: BenchServer) async throws -> BenchResult {
        try await server.session { target, api, fsync in
            let names = (0..<members).map { api.user("m\($0)") }
            for name in names { try await api.call(.PUT, "/v1/users/\(name)", body: "{}", expect: [200, 201]) }
            let memberList = names.map { "\"\($0)\"" }.joined(separator: ",")
            let channel = try BenchAPI.id(in: try await api.call(.POST, "/v1/channels", body: #"{"type":"group","name":"fanout","members":[\#(memberList)]}"#, expect: [201]))
            var issued: [String] = []
            for name in names { issued.append(try await api.token(name)) }
            let tokens = issued
            let recorder = LatencyScenario.Recorder()
            let last = Last()
            let received = (0..<members).map { _ in LatencyScenario.Received() }
            var serverCPUBefore: ServerUsage?
            var ownCPUBefore = 0.0
            var started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                try await ReceiverGroup.connect(members, into: &group, url: { target.realtimeURL(node: $0) }, messages: messages, token: { tokens[$0] }) { index, frame in
                    guard frame.kind == .messageCreated, let sent = frame.sentNanos, let seq = frame.seq else { return }
                    let microseconds = frame.microseconds(since: sent)
                    recorder.delivery(microseconds)
                    last.record(seq, microseconds)
                    received[index].add(seq)
                }
                // The CPU windows start once every member is connected.
                serverCPUBefore = target.usage()
                ownCPUBefore = ProcessUsage.ownCPUSeconds()
                started = ContinuousClock.now
                for _ in 0..<messages {
                    let nanos = ScannedFrame.now()
                    try await api.call(.POST, "/v1/channels/\(channel)/messages", body: #"{"text":"t=\#(nanos)"}"#, expect: [201])
                }
                try await group.waitForAll()
            }
            let elapsed = ContinuousClock.now - started
            let ownCPU = ProcessUsage.ownCPUSeconds() - ownCPUBefore
            for (index, member) in received.enumerated() where member.all != Array(1...Int64(messages)) {
                throw LatencyScenario.Failure(description: "member \(index) got \(member.all.count) of \(messages) messages, or out of order")
            }
            var lastMember = Histogram<UInt64>(highestTrackableValue: 60_000_000)
            for value in last.values { _ = lastMember.record(value) }
            return BenchResult(
                scenario: "fanout",
                parameters: [("members", "\(members)"), ("messages", "\(messages)"), ("durability", target.durability), ("build", PushScenario.build)],
                figures: [("deliveries_per_second", Double(members * messages) / elapsed.seconds), ("fsync_p50_ms", fsync)]
                    + BenchResult.latencies("last_member", lastMember) + BenchResult.latencies("delivery", recorder.histograms.delivery)
                    + target.cpuFigures(since: serverCPUBefore, bench: ownCPU))
        }
    }
}
