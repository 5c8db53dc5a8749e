import Foundation
import HeraldCore
@testable import HeraldServer
import HeraldStore
import Testing

@Suite("Retention")
struct RetentionTests {
    @Test("Content older than retention.messageDays is removed in batches: messages keep their seq as tombstones, inbox items and customer events go; other apps keep theirs")
    func oldContentGoes() async throws {
        let clock = TestClock("2026-01-01T09:00:00Z")
        try await TestHarness.with(clock: clock) { harness in
            let channel = try await harness.group(["ana", "ben"])
            for index in 0..<12 { try await harness.post("old \(index)", to: channel, from: "ana") }
            _ = try await harness.seedInboxItem(for: "ana", title: "Old alert")
            for index in 0..<7 {
                let time = WireTime.truncated(clock.now())
                _ = try await harness.store.recordEvent(
                    CustomerEvent(id: .generate(at: time), user: harness.user("ana"), name: "old.\(index)", properties: [:], occurredAt: time, recordedAt: time),
                    app: harness.app, idempotency: nil)
            }
            let otherUser = UserID(rawValue: "zoe")!
            _ = try await harness.store.putUser(otherUser, profile: UserProfile(name: "Zoe"), in: harness.otherApp)
            let otherChannel = try await harness.store.createChannel(NewChannel(type: .group, members: [otherUser], name: "x"), in: harness.otherApp).channel
            _ = try await harness.store.append(AppendRequest(app: harness.otherApp, channel: otherChannel.id, sender: otherUser, content: MessageContent(text: "kept")))
            clock.advance(by: 40 * 86_400)
            try await harness.post("recent", to: channel, from: "ben")
            _ = try await harness.store.updateSettings(of: harness.app) { try $0.merging(body: Data(#"{"retention":{"messageDays":30}}"#.utf8)) }
            var sweeper = harness.parts.retentionSweeper()
            sweeper.batchSize = 5

            let removed = try await sweeper.runOnce()
            let again = try await sweeper.runOnce()

            #expect(removed.messages == 12 && removed.inboxItems == 1 && removed.events == 7)
            #expect(again.messages == 0 && again.inboxItems == 0 && again.events == 0)
            #expect(try await harness.store.journeyActivity(of: harness.user("ana"), in: harness.app).events.isEmpty, "the customer's old events went too")
            let history = try await harness.store.history(of: channel.id, in: harness.app, query: HistoryQuery(after: 0, limit: 50)).messages
            #expect(history.map(\.seq) == Array(1...13), "tombstones keep the seqs")
            #expect(history.prefix(12).allSatisfy { $0.deleted && $0.text.isEmpty })
            #expect(history.last?.text == "recent")
            #expect(try await harness.store.inbox(of: harness.user("ana"), in: harness.app, query: InboxQuery()).items.isEmpty)
            let other = try await harness.store.history(of: otherChannel.id, in: harness.otherApp, query: HistoryQuery(after: 0, limit: 50)).messages
            #expect(other.map(\.text) == ["kept"])
        }
    }
}
