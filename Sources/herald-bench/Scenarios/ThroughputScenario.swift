import Foundation
import HeraldCore
import HeraldLoopback

/// As many durable 1:1 messages per second as the server sustains: `pairs` senders each keep up to
/// `window` messages in flight (a new send on each ack, at most 90 a second: the server closes a
/// connection beyond 100 frames/s with 4429) until each has sent `perSender`. Many pairs, as real
/// traffic is, and enough of them that the clients could offer more than the goal (400 pairs offer up
/// to 36,000 msg/s): `offered_ceiling_per_second` is what the pacing allows, `sent_per_second` what the
/// senders managed, `delivered_per_second` what reached the peers. Delivery to the peer is timed from
/// the send; every receiver must get every message exactly once, in order. Every socket connects
/// before the first send and the CPU windows start.
struct ThroughputScenario {
    let pairs: Int
    let window: Int
    let perSender: Int

    func run(on server: BenchServer) async throws -> BenchResult {
        try await server.session { target, api, fsync in
            let conversations = try await api.directPairs(pairs)
            let recorder = LatencyScenario.Recorder()
            let received = (0..<pairs).map { _ in LatencyScenario.Received() }
            let tokens = try await api.tokens(for: conversations)
            var serverCPUBefore: ServerUsage?
            var ownCPUBefore = 0.0
            var started = ContinuousClock.now
            let gate = StartGate()
            let lastSend = Tally()
            var sendingEnded = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                try await ReceiverGroup.connect(pairs, into: &group, url: { target.realtimeURL(node: $0) }, messages: perSender, token: { tokens[$0].receiver }) { index, frame in
                    guard frame.kind == .messageCreated, let sent = frame.sentNanos, let seq = frame.seq else { return }
                    recorder.delivery(frame.microseconds(since: sent))
                    received[index].add(seq)
                }
                for (index, conversation) in conversations.enumerated() {
                    await gate.admit(index)
                    group.addTask {
                        do {
                            try await BenchSocket.sendWindowed(
                                url: target.realtimeURL(node: index + 1), token: tokens[index].sender, channel: conversation.channel, count: perSender, window: window,
                                gate: gate, lastSend: lastSend, recorder: recorder)
                        } catch {
                            gate.abandon()
                            lastSend.add()
                            throw error
                        }
                    }
                }
                guard await gate.allArrived(pairs) else { throw LatencyScenario.Failure(description: "a sender could not connect") }
                serverCPUBefore = target.usage()
                ownCPUBefore = ProcessUsage.ownCPUSeconds()
                started = gate.open()
                await lastSend.wait(atLeast: pairs)
                sendingEnded = ContinuousClock.now
                try await group.waitForAll()
            }
            let elapsed = ContinuousClock.now - started
            let ownCPU = ProcessUsage.ownCPUSeconds() - ownCPUBefore
            for (index, receiver) in received.enumerated() where receiver.all != Array(1...Int64(perSender)) {
                throw LatencyScenario.Failure(description: "receiver \(index) got \(receiver.all.count) of \(perSender) messages, or out of order")
            }
            let (ack, delivery) = recorder.histograms
            let total = perSender * pairs
            return BenchResult(
                scenario: "throughput",
                parameters: [
                    ("pairs", "\(pairs)"), ("window_per_sender", "\(window)"), ("messages", "\(total)"), ("durability", target.durability),
                    ("build", PushScenario.build),
                ],
                figures: [
                    ("offered_ceiling_per_second", Double(pairs) / BenchSocket.sendSpacing.seconds), ("sent_per_second", Double(total) / (sendingEnded - started).seconds),
                    ("delivered_per_second", Double(total) / elapsed.seconds), ("fsync_p50_ms", fsync),
                ] + BenchResult.latencies("ack", ack)
                    + BenchResult.latencies("delivery", delivery) + target.cpuFigures(since: serverCPUBefore, bench: ownCPU))
        }
    }
}
