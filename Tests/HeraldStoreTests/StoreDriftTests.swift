import Crypto
import Foundation
import HeraldCore
@testable import HeraldStore
import Testing

/// Where the two backends once disagreed, each pinned on both to the stricter rule (each test failed on
/// at least one backend before its rule moved to one place).
@Suite("Store conformance: where the backends disagreed")
struct StoreDriftTests {
    private let ana = StoreFixture.ana
    private let ben = StoreFixture.ben

    private func group(_ fixture: StoreFixture, _ app: AppID) async throws -> Channel {
        try await fixture.store.createChannel(NewChannel(type: .group, members: [ana, ben], name: "team"), in: app).channel
    }

    private func keyed(_ text: String, key: String) -> (MessageContent, IdempotencyKey) {
        let content = MessageContent(text: text)
        return (content, IdempotencyKey(scope: "test", key: ClientMessageID(rawValue: key)!, request: content.canonicalBytes(sender: nil), user: nil, requiresSameRequest: true))
    }

    @Test("A message whose ciphertext was copied from another message is an error, never shown as erased", arguments: StoreBackend.allCases)
    func copiedCiphertextIsAnError(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let app = try await fixture.appWithAnaAndBen()
            let channel = try await group(fixture, app)
            let first = try await fixture.store.append(AppendRequest(app: app, channel: channel.id, sender: ana, content: MessageContent(text: "pay 10")))
            let second = try await fixture.store.append(AppendRequest(app: app, channel: channel.id, sender: ana, content: MessageContent(text: "pay 9000")))
            #expect(try await fixture.store.history(of: channel.id, in: app, query: HistoryQuery()).messages.map(\.text) == ["pay 10", "pay 9000"])

            try await fixture.writeDatabase(
                "UPDATE message SET sealed = (SELECT sealed FROM message WHERE id = '\(first.message.id)') WHERE id = '\(second.message.id)'")

            await #expect(throws: StoreCorruption.self) { try await fixture.store.history(of: channel.id, in: app, query: HistoryQuery()) }
        }
    }

    @Test("A key whose first message is gone refuses the send as in use; a send beside it is still written", arguments: StoreBackend.allCases)
    func keyWithoutItsMessage(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let app = try await fixture.appWithAnaAndBen()
            let channel = try await group(fixture, app)
            let (content, key) = keyed("once", key: "k-1")
            let sent = try await fixture.store.append(AppendRequest(app: app, channel: channel.id, sender: ana, content: content, idempotency: key))
            try await fixture.writeDatabase("DELETE FROM message WHERE id = '\(sent.message.id)'")

            let store = fixture.store
            let again = Task { try await store.append(AppendRequest(app: app, channel: channel.id, sender: ana, content: content, idempotency: key)) }
            let other = Task { try await store.append(AppendRequest(app: app, channel: channel.id, sender: ben, content: MessageContent(text: "unrelated"))) }
            let (retried, unrelated) = (await again.result, await other.result)

            #expect(throws: HeraldError.conflict(detail: "This Idempotency-Key is in use.")) { try retried.get() }
            #expect(try unrelated.get().message.seq == 2, "the other send is written (in the same batch or not), after the seq the first send took")
        }
    }

    @Test("A keyed send refused at the channel's last seq leaves its key free for a later send", arguments: StoreBackend.allCases)
    func seqLimitLeavesNoClaim(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let app = try await fixture.appWithAnaAndBen()
            let channel = try await group(fixture, app)
            try await fixture.writeDatabase("UPDATE channel SET lastSeq = \(Limits.maxSeq) WHERE id = '\(channel.id)'")
            let (content, key) = keyed("at the end", key: "k-end")

            await #expect(throws: SeqLimit.reached) {
                try await fixture.store.append(AppendRequest(app: app, channel: channel.id, sender: ana, content: content, idempotency: key))
            }
            try await fixture.writeDatabase("UPDATE channel SET lastSeq = 0 WHERE id = '\(channel.id)'")
            let retried = try await fixture.store.append(AppendRequest(app: app, channel: channel.id, sender: ana, content: content, idempotency: key))
            #expect(!retried.isReplay && retried.message.seq == 1)
        }
    }

    @Test("Two read marks for the same member in one batch: the furthest wins, once", arguments: StoreBackend.allCases)
    func duplicateReadMarks(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let app = try await fixture.appWithAnaAndBen()
            let channel = try await group(fixture, app)
            for index in 1...6 { _ = try await fixture.store.append(AppendRequest(app: app, channel: channel.id, sender: ben, content: MessageContent(text: "\(index)"))) }

            let moved = try await fixture.store.markRead([
                ReadMark(app: app, channel: channel.id, user: ana, seq: 2), ReadMark(app: app, channel: channel.id, user: ana, seq: 5),
                ReadMark(app: app, channel: channel.id, user: ana, seq: 3),
            ])

            #expect(moved.map(\.position.seq) == [5])
            let summary = try await fixture.store.channelSummaries(of: ana, in: app).first
            #expect(summary?.lastReadSeq == 5)
        }
    }

    @Test("A re-registration that puts a forged activation back to pending clears its activation time too", arguments: StoreBackend.allCases)
    func reRegistrationClearsForgedActivation(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let app = try await fixture.appWithAnaAndBen()
            let key = StepUpKey(publicKey: P256.Signing.PrivateKey().publicKey)
            let device = NewDevice(platform: .fcm, token: "fcm-1", stepUpKey: key)
            let registered = try await fixture.store.registerDevice(device, for: ana, in: app)
            try await fixture.writeDatabase("UPDATE device SET stepUpState = 'active', stepUpActivatedAt = 1 WHERE id = '\(registered.device.id)'")

            let again = try await fixture.store.registerDevice(device, for: ana, in: app)
            let listed = try await fixture.store.devices(of: ana, in: app)

            #expect(again.device.stepUpState == .pending && again.device.stepUpActivatedAt == nil)
            #expect(listed.map(\.stepUpActivatedAt) == [nil])
        }
    }

    @Test("A notification key whose notification is gone is taken over as a new key: the sweeper counts its age from the new send", arguments: StoreBackend.allCases)
    func takenOverKeyIsNew(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let app = try await fixture.appWithAnaAndBen()
            func notification() -> OutgoingNotification {
                OutgoingNotification(
                    id: .generate(), app: app, category: .transactional, source: .content(title: "Payment", body: "Due"), templateVersion: nil,
                    audience: .users([ana]), data: nil, actions: nil, sendAt: nil, expiresAt: nil, createdAt: fixture.clock.now, status: .sending)
            }
            let key = IdempotencyKey(scope: "notifications", key: ClientMessageID(rawValue: "n1")!, request: Data([1]), user: nil, requiresSameRequest: true)
            let first = try await fixture.store.createNotification(notification(), idempotency: key).notification
            try await fixture.writeDatabase("DELETE FROM notification WHERE id = '\(first.id)'")
            fixture.clock.advance(by: 36 * 3600)
            let second = try await fixture.store.createNotification(notification(), idempotency: key)
            fixture.clock.advance(by: 36 * 3600)

            _ = try await fixture.store.purgeIdempotencyKeys(olderThan: fixture.clock.now.addingTimeInterval(-48 * 3600))
            let again = try await fixture.store.createNotification(notification(), idempotency: key)

            #expect(!second.isReplay)
            #expect(again.isReplay && again.notification.id == second.notification.id, "taken over 36 h ago: not yet past the 48 h cutoff")
        }
    }

    @Test("Settings of an app that does not exist are not found, not a database error", arguments: StoreBackend.allCases)
    func settingsOfUnknownApp(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            await #expect(throws: HeraldError.notFound(resource: "app")) {
                try await fixture.store.updateSettings(of: AppID.generate()) { $0 }
            }
        }
    }
}
