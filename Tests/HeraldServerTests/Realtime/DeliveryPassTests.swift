@testable import HeraldServer
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

/// `DeliveryPass` writes a loop's woken sockets a slice at a time, the next slice scheduled past the
/// loop's poll: a large fan-out never holds the loop for more than a slice (issue 19).
@Suite("Delivery pass")
struct DeliveryPassTests {
    /// What was written, in order.
    final class Log: Sendable {
        private let entries = Mutex<[Int]>([])
        var all: [Int] { entries.withLock { $0 } }
        func writer(_ socket: Int) -> @Sendable () -> Void { { self.entries.withLock { $0.append(socket) } } }
    }

    @Test("A fan-out to 100 sockets is written in slices, none of which waits for the next poll to be due")
    func slices() {
        let loop = EmbeddedEventLoop()
        let pass = DeliveryPass(loop: loop)
        let log = Log()
        for socket in 0..<100 { pass.wake(log.writer(socket)) }
        loop.run()
        #expect(log.all == Array(0..<DeliveryPass.sliceSize))
        // Nothing more runs until the pause has passed: the loop polls its sockets meanwhile.
        loop.advanceTime(by: DeliveryPass.pause - .nanoseconds(1))
        #expect(log.all.count == DeliveryPass.sliceSize)
        loop.advanceTime(by: .nanoseconds(1))
        #expect(log.all == Array(0..<(2 * DeliveryPass.sliceSize)))
        for _ in 0..<4 { loop.advanceTime(by: DeliveryPass.pause) }
        #expect(log.all == Array(0..<100))
    }

    @Test("A socket woken during a pass is written after those woken before it; an idle pass starts at once")
    func wakesDuringAPass() {
        let loop = EmbeddedEventLoop()
        let pass = DeliveryPass(loop: loop)
        let log = Log()
        for socket in 0..<40 { pass.wake(log.writer(socket)) }
        loop.run()
        pass.wake(log.writer(1_000))
        loop.run()
        #expect(log.all.count == DeliveryPass.sliceSize)
        loop.advanceTime(by: DeliveryPass.pause)
        #expect(log.all == Array(0..<40) + [1_000])
        // Every socket is written: the next wake is taken without a pause.
        pass.wake(log.writer(2_000))
        loop.run()
        #expect(log.all.last == 2_000)
        loop.advanceTime(by: .seconds(1))
        #expect(log.all.count == 42)
    }

    @Test("Sockets woken again and again while the pass lags behind are all written, each once per wake, in order")
    func longRunningPass() {
        let loop = EmbeddedEventLoop()
        let pass = DeliveryPass(loop: loop)
        let log = Log()
        var expected: [Int] = []
        for round in 0..<20 {
            for socket in 0..<50 {
                pass.wake(log.writer(round * 100 + socket))
                expected.append(round * 100 + socket)
            }
            loop.run()
            loop.advanceTime(by: DeliveryPass.pause)
        }
        for _ in 0..<100 { loop.advanceTime(by: DeliveryPass.pause) }
        #expect(log.all == expected)
    }
}
