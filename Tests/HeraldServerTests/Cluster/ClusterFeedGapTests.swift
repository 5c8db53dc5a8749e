import Foundation
import HeraldCore
@testable import HeraldServer
import HeraldStore
import Synchronization
import Testing

/// The node's side of a lost cluster feed, step by step (the end-to-end test with a real database
/// kill is `ClusterTests.lostFeedIsRecovered`).
@Suite("Cluster feed gaps")
struct ClusterFeedGapTests {
    private let app = AppID.generate()
    private let ana = UserID(rawValue: "ana")!

    @Test("While the feed is down, live sockets are closed with 1012 and new ones are refused; once it is back they are taken")
    func socketsDuringAnOutage() async {
        let hub = Hub()
        let before = OutboundQueue(limit: 16)
        #expect(hub.register(before, user: ana, in: app) == .registered)

        hub.feedLost(reason: "cluster feed lost")
        let during = hub.register(OutboundQueue(limit: 16), user: ana, in: app)
        hub.feedRestored()
        let after = hub.register(OutboundQueue(limit: 16), user: ana, in: app)

        guard let code = before.take().close?.code else {
            Issue.record("the live socket is closed")
            return
        }
        #expect(code == CloseCode.serviceRestart)
        #expect(during == .feedDown)
        #expect(after == .registered)
    }

    @Test("A failing announcement is retried with backoff until it goes through")
    func retriedUntilAnnounced() async {
        let attempts = Mutex(0)
        let waits = Mutex<[Duration]>([])

        let announced = await AnnouncementRetry(bound: .seconds(30)).run(sleep: { delay in waits.withLock { $0.append(delay) } }) {
            let attempt = attempts.withLock { count in
                count += 1
                return count
            }
            if attempt < 4 { throw CancellationError() }
        }

        #expect(announced)
        #expect(attempts.withLock { $0 } == 4)
        #expect(waits.withLock { $0 } == [.milliseconds(100), .milliseconds(200), .milliseconds(400)])
    }

    @Test("Retries stop at the bound; an erasure's disconnect is retried longer than a read position, typing not at all")
    func retriesAreBounded() async {
        func waited(for signal: ClusterSignal) async -> (Bool, Duration) {
            let total = Mutex(Duration.zero)
            let announced = await AnnouncementRetry.for(signal).run(sleep: { delay in total.withLock { $0 += delay } }) { throw CancellationError() }
            return (announced, total.withLock { $0 })
        }

        let typing = await waited(for: .typing(channelID: ChannelID.generate(), userID: ana))
        let read = await waited(for: .read(ReadPosition(channelId: ChannelID.generate(), userId: ana, seq: 1)))
        let erased = await waited(for: .erased)

        #expect(typing == (false, .zero))
        #expect(read.0 == false && read.1 <= .seconds(10) && read.1 > .seconds(5))
        #expect(erased.0 == false && erased.1 <= .seconds(30) && erased.1 > read.1)
    }
}
