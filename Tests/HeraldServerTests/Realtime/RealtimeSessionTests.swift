import Foundation
import HeraldCore
@testable import HeraldServer
import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

/// The hand-over of client frames between a socket's event loop and the task that handles them.
@Suite("Realtime session: frames waiting for the gateway")
struct RealtimeSessionTests {
    private final class Resumes: Sendable {
        let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
    }

    private func session(maxWaiting: Int = 4, resumes: Resumes? = nil) -> RealtimeSession {
        RealtimeSession(
            queue: OutboundQueue(limit: 16), origin: nil, clientAddress: .unknown, eventLoop: EmbeddedEventLoop(), logger: Logger(label: "test"),
            maxWaitingFrames: maxWaiting
        ) { resumes?.count.withLock { $0 += 1 } }
    }

    @Test("The first frame starts a task; frames arriving while it runs join it, in order; an empty queue ends it")
    func oneTaskAtATime() {
        let session = session(maxWaiting: 100)

        #expect(session.enqueue("a").startsTask)
        #expect(session.enqueue("b").startsTask == false)
        #expect(session.next(upTo: 1).first?.text == "a")
        #expect(session.enqueue("c").startsTask == false)
        #expect(session.next(upTo: 1).first?.text == "b")
        #expect(session.next(upTo: 1).first?.text == "c")
        #expect(session.next(upTo: 1).first == nil)
        #expect(session.enqueue("d").startsTask, "the task ended: the next frame starts another")
    }

    @Test("Reading pauses when frames pile up and resumes once half of them are handled")
    func pausesReading() {
        let resumes = Resumes()
        let session = session(maxWaiting: 4, resumes: resumes)

        let arrivals = (0..<4).map { session.enqueue("f\($0)") }

        #expect(arrivals.map { $0.pausesReading } == [false, false, false, true])
        _ = session.next(upTo: 1).first
        #expect(resumes.value == 0, "three still wait")
        _ = session.next(upTo: 1).first
        #expect(resumes.value == 1)
        _ = session.next(upTo: 1).first
        #expect(resumes.value == 1, "resumed once")
    }

    @Test("A socket that ends while its token is checked is never authenticated (so never left registered)")
    func endBeforeAuthentication() {
        let session = session()
        let identity = RealtimeSession.Identity(app: .generate(), user: UserID(rawValue: "ana")!, expiresAt: Date())

        #expect(session.end() == nil, "nobody to unregister")
        #expect(session.authenticate(identity) == false)
        #expect(session.identity == nil)
        #expect(session.enqueue("late").startsTask == false, "frames after the end are dropped")
    }

    @Test("A socket that ends after authenticating names whom to unregister")
    func endAfterAuthentication() {
        let session = session()
        let identity = RealtimeSession.Identity(app: .generate(), user: UserID(rawValue: "ana")!, expiresAt: Date())

        #expect(session.authenticate(identity))

        #expect(session.end()?.user == identity.user)
    }
}
