import Foundation
import HeraldCore
@testable import HeraldServer
import HeraldStore
import Testing

/// What the hub hands the push worker to settle after live delivery: only messages that wrote a push
/// row, with the members who were offline; nothing for other nodes' commits.
@Suite("Push settlement after live delivery")
struct PushSettlementTests {
    private let app = AppID.generate()
    private let ana = UserID(rawValue: "ana")!
    private let ben = UserID(rawValue: "ben")!
    private let cat = UserID(rawValue: "cat")!

    private func created(hasPushRow: Bool) -> CommittedMessage {
        let message = Message(id: .generate(), channelId: .generate(), seq: 1, sender: ana, text: "hi", data: nil, createdAt: Date())
        return CommittedMessage(app: app, change: .created, message: message, members: [ana, ben, cat], hasPushRow: hasPushRow)
    }

    @Test("A message with a push row is settled with its offline members; one without, and other nodes' commits, are not")
    func settlesOnlyPushRows() {
        let hub = Hub()
        #expect(hub.register(OutboundQueue(limit: 16), user: ben, in: app) == .registered)
        let withRow = created(hasPushRow: true)
        hub.deliver([withRow, created(hasPushRow: false)], settlesPushes: true)
        hub.deliver([created(hasPushRow: true)], settlesPushes: false)

        let settlements = hub.takePushSettlements()
        #expect(settlements.map(\.message) == [withRow.message.id])
        #expect(settlements.first?.offline == [cat])
        #expect(hub.takePushSettlements().isEmpty)
    }
}
