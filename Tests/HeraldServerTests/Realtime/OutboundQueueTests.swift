import Foundation
@testable import HeraldServer
import NIOCore
import Synchronization
import Testing

@Suite("Outbound queue of one WebSocket")
struct OutboundQueueTests {
    private func frame(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test("The queue is bounded in bytes as well as frames: large frames close it as a slow consumer long before the frame bound")
    func boundedInBytes() {
        let queue = OutboundQueue(limit: 1_024, byteLimit: 64 * 1024)
        let large = frame(String(repeating: "x", count: 10_000))

        let accepted = (0..<10).map { _ in queue.offer(large) }

        #expect(accepted.prefix(6).allSatisfy { $0 })
        #expect(accepted[6] == false)
        #expect(queue.isClosing)
        #expect(queue.queuedBytes == 0, "what was queued is dropped")
        let batch = queue.take()
        #expect(batch.frames.isEmpty)
        #expect(batch.close?.code == .policyViolation, "the handler is told to close")
    }

    @Test("Frames handed to the socket still count until they are written: a client that stops reading fills the queue")
    func countsUntilWritten() {
        let queue = OutboundQueue(limit: 4)
        for _ in 0..<3 { queue.offer(frame("a")) }
        let taken = queue.take()
        #expect(taken.frames.count == 3)

        #expect(queue.offer(frame("b")))
        #expect(queue.offer(frame("c")) == false, "three unwritten and one pending reach the bound of four")
        #expect(queue.isClosing)
    }

    @Test("Room comes back when the handler reports frames written")
    func writtenMakesRoom() {
        let queue = OutboundQueue(limit: 4)
        for _ in 0..<4 {
            queue.offer(frame("a"))
            let batch = queue.take()
            queue.written(frames: batch.frames.count, bytes: batch.bytes)
        }
        #expect(queue.offer(frame("fifth")), "written frames no longer count")
        #expect(queue.isClosing == false)
    }

    @Test("The handler is woken once per batch of work, not once per frame")
    func wakesOncePerBatch() {
        let wakes = Mutex(0)
        let queue = OutboundQueue(limit: 100) { wakes.withLock { $0 += 1 } }

        for _ in 0..<10 { queue.offer(frame("a")) }
        #expect(wakes.withLock { $0 } == 1)
        #expect(queue.take().frames.count == 10)
        queue.offer(frame("b"))
        queue.close(.normalClosure, reason: "")
        #expect(wakes.withLock { $0 } == 2)
        let last = queue.take()
        #expect(last.frames.count == 1)
        #expect(last.close?.code == .normalClosure, "the close follows the frames queued before it")
        #expect(queue.take().close == nil, "the close is handed out once")
    }

    @Test("A reply waiting for room gives up when its task is cancelled")
    func sendHonoursCancellation() async {
        let queue = OutboundQueue(limit: 4)
        for _ in 0..<2 { queue.offer(frame("frame")) }
        let waiting = Task { await queue.send(frame("reply")) }
        while queue.waitingForRoom == 0 { await Task.yield() }

        waiting.cancel()

        #expect(await waiting.value == false)
    }

    @Test("A reply waiting for room gives up when the socket ends")
    func sendEndsWithSocket() async {
        let queue = OutboundQueue(limit: 4)
        for _ in 0..<2 { queue.offer(frame("frame")) }
        let waiting = Task { await queue.send(frame("reply")) }
        while queue.waitingForRoom == 0 { await Task.yield() }

        queue.ended()

        #expect(await waiting.value == false)
        #expect(queue.offer(frame("later")) == false)
        #expect(queue.take().frames.isEmpty, "nothing is written after the end")
    }

    @Test("A reply waiting for room goes on once the frames before it are written")
    func sendGoesOnWhenWritten() async {
        let queue = OutboundQueue(limit: 4)
        for _ in 0..<2 { queue.offer(frame("frame")) }
        let waiting = Task { await queue.send(frame("reply")) }
        while queue.waitingForRoom == 0 { await Task.yield() }

        let batch = queue.take()
        queue.written(frames: batch.frames.count, bytes: batch.bytes)

        #expect(await waiting.value == true)
        #expect(queue.take().frames.map { String(buffer: $0) } == ["reply"])
    }

    @Test("A reply waiting for room goes on when an offer overflows the queue and closes it")
    func sendEndsOnOverflow() async {
        let queue = OutboundQueue(limit: 4)
        for _ in 0..<2 { queue.offer(frame("frame")) }
        let waiting = Task { await queue.send(frame("reply")) }
        while queue.waitingForRoom == 0 { await Task.yield() }

        for _ in 0..<3 { queue.offer(frame("fan-out")) }

        #expect(queue.isClosing)
        #expect(await waiting.value == false)
    }
}
