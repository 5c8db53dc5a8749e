import Foundation
import HeraldCore
@testable import HeraldServer
import HeraldStore
import NIOCore
import Testing

@Suite("Coalesced read positions")
struct ReadPositionWriterTests {
    @Test("Fifty read marks of one channel are one stored move and one read frame to the members")
    func coalesces() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            for index in 1...50 { try await harness.post("m\(index)", to: channel, from: "ben") }
            let writer = ReadPositionWriter(store: harness.store, hub: harness.hub, logger: .init(label: "test"))
            let benQueue = OutboundQueue(limit: 1_000)
            #expect(harness.hub.register(benQueue, user: harness.user("ben"), in: harness.app) == .registered)

            for seq in 1...50 {
                writer.submit(ReadMark(app: harness.app, channel: channel.id, user: harness.user("ana"), seq: Int64(seq)), members: channel.members)
            }
            await writer.flush()

            let frames = benQueue.take().frames.map { String(buffer: $0) }
            let summaries = try await harness.store.channelSummaries(of: harness.user("ana"), in: harness.app)
            #expect(frames.count == 1)
            #expect(frames.first?.contains(#""seq":50"#) == true, "\(frames)")
            #expect(summaries.first?.lastReadSeq == 50)
        }
    }

    @Test("Marks beyond the bound are refused, not queued without limit")
    func bounded() async throws {
        try await TestHarness.with { harness in
            let writer = ReadPositionWriter(store: harness.store, hub: harness.hub, maxPending: 2, logger: .init(label: "test"))
            let marks = (0..<3).map { _ in ReadMark(app: harness.app, channel: ChannelID.generate(), user: harness.user("ana"), seq: 1) }

            let accepted = marks.map { writer.submit($0, members: []) }

            #expect(accepted == [true, true, false])
        }
    }
}
