import Foundation
@testable import HeraldServer
import Testing

@Suite("Outbound queue of one WebSocket")
struct OutboundQueueTests {
    @Test("The queue is bounded in bytes as well as frames: large frames close it as a slow consumer long before the frame bound")
    func boundedInBytes() async {
        let queue = OutboundQueue(limit: 1_024, byteLimit: 64 * 1024)
        let frame = String(repeating: "x", count: 10_000)

        let accepted = (0..<10).map { _ in queue.offer(frame) }

        #expect(accepted.prefix(6).allSatisfy { $0 })
        #expect(accepted[6] == false)
        #expect(queue.isClosing)
        #expect(queue.queuedBytes == 0, "what was queued is dropped")
        guard case .close(let code, _)? = await queue.next() else {
            Issue.record("the writer is told to close")
            return
        }
        #expect(code == .policyViolation)
    }

    @Test("A reply waiting for room gives up when its task is cancelled")
    func sendHonoursCancellation() async {
        let queue = OutboundQueue(limit: 4)
        for _ in 0..<2 { queue.offer("frame") }
        let waiting = Task { await queue.send("reply") }
        while queue.waitingForRoom == 0 { await Task.yield() }

        waiting.cancel()

        #expect(await waiting.value == false)
    }

    @Test("A reply waiting for room gives up when the writer ends")
    func sendEndsWithWriter() async {
        let queue = OutboundQueue(limit: 4)
        for _ in 0..<2 { queue.offer("frame") }
        let waiting = Task { await queue.send("reply") }
        while queue.waitingForRoom == 0 { await Task.yield() }

        queue.writerEnded()

        #expect(await waiting.value == false)
        #expect(queue.offer("later") == false)
    }

    @Test("A reply waiting for room goes on when an offer overflows the queue and closes it")
    func sendEndsOnOverflow() async {
        let queue = OutboundQueue(limit: 4)
        for _ in 0..<2 { queue.offer("frame") }
        let waiting = Task { await queue.send("reply") }
        while queue.waitingForRoom == 0 { await Task.yield() }

        for _ in 0..<3 { queue.offer("fan-out") }

        #expect(queue.isClosing)
        #expect(await waiting.value == false)
    }
}
