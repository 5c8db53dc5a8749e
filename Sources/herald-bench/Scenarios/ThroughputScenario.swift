import Foundation
import HeraldCore
import HeraldLoopback
import HummingbirdWSClient

/// As many durable 1:1 messages per second as the server sustains: `pairs` senders each keep up to
/// `window` messages in flight (a new send on each ack, at most 90 a second: the server closes a
/// connection beyond 100 frames/s with 4429) until each has sent `perSender`. Many pairs, as real
/// traffic is. Delivery to
/// the peer is timed from the send; every receiver must get every message exactly once, in order.
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
            let serverCPUBefore = target.cpuSeconds()
            let ownCPUBefore = ProcessUsage.ownCPUSeconds()
            var started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                try await ReceiverGroup.connect(pairs, into: &group, url: { target.realtimeURL(node: $0) }, messages: perSender, token: { tokens[$0].receiver }) { index, frame in
                    guard case .messageCreated(let message) = frame, let nanos = Int64(message.text.dropFirst(2)) else { return }
                    recorder.delivery(LatencyScenario.elapsedMicroseconds(since: nanos))
                    received[index].add(message.seq)
                }
                started = ContinuousClock.now
                for (index, conversation) in conversations.enumerated() {
                    group.addTask {
                        try await BenchSocket.sendWindowed(
                            url: target.realtimeURL(node: index + 1), token: tokens[index].sender, channel: conversation.channel, count: perSender, window: window, recorder: recorder)
                    }
                }
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
                figures: [("delivered_per_second", Double(total) / elapsed.seconds), ("fsync_p50_ms", fsync)] + BenchResult.latencies("ack", ack)
                    + BenchResult.latencies("delivery", delivery) + target.cpuFigures(since: serverCPUBefore) + [("bench_cpu_seconds", ownCPU)])
        }
    }
}

extension BenchSocket {
    /// Sends `count` messages keeping at most `window` without an ack, recording each ack's latency.
    static func sendWindowed(url: String, token: String, channel: String, count: Int, window: Int, recorder: LatencyScenario.Recorder) async throws {
        _ = try await WebSocketClient.connect(url: url, configuration: configuration(token: token), logger: logger) {
            inbound, outbound, _ in
            let sentAt = SendTimes()
            var sent = 0
            // Paced under the server's per-connection limit (100 frames/s sustained; 4429 beyond it).
            let spacing = Duration.milliseconds(11)
            var nextAllowed = ContinuousClock.now
            func sendNext() async throws {
                try await Task.sleep(until: nextAllowed)
                nextAllowed = max(ContinuousClock.now, nextAllowed) + spacing
                let nanos = (ContinuousClock.now - LatencyScenario.origin).microseconds * 1000
                let id = "w\(sent)"
                sentAt.record(id, nanos)
                sent += 1
                try await outbound.write(.text(#"{"type":"message.send","channelId":"\#(channel)","clientMessageId":"\#(id)","text":"t=\#(nanos)"}"#))
            }
            // In order: the next send waits for the previous write, so seqs follow the send order.
            for _ in 0..<min(window, count) { try await sendNext() }
            var acks = 0
            for try await message in inbound.messages(maxSize: 1 << 22) {
                guard case .text(let text) = message, let frame = try? WireJSON.decoder().decode(ServerFrame.self, from: Data(text.utf8)) else { continue }
                if case .error(let code, let detail, _) = frame {
                    FileHandle.standardError.write(Data("herald-bench: a send was refused: \(code): \(detail)\n".utf8))
                    throw LatencyScenario.Failure(description: "a send was refused: \(code): \(detail)")
                }
                guard case .ack(let id, _) = frame, let nanos = sentAt.take(id.rawValue) else { continue }
                recorder.ack(LatencyScenario.elapsedMicroseconds(since: nanos))
                acks += 1
                if acks == count { break }
                if sent < count { try await sendNext() }
            }
            guard acks == count else {
                FileHandle.standardError.write(Data("herald-bench: a sender's socket closed after \(acks) of \(count) acks\n".utf8))
                throw LatencyScenario.Failure(description: "a sender's socket closed after \(acks) of \(count) acks (a limit of the server?)")
            }
            try await outbound.close(.normalClosure, reason: nil)
        }
    }
}
