import Foundation
import HTTPTypes
import HeraldCore
@testable import HeraldServer
import HeraldStore
import Hummingbird
import HummingbirdTesting
import Testing

struct AuditPage: Decodable {
    var events: [AuditEvent]
    var next: Int64?
}

@Suite("Erasure by crypto-shredding")
struct ErasureTests {
    /// Copies the SQLite file before the erasure; on PostgreSQL the store conformance suite covers erasure.
    @Test(
        "After DELETE /v1/users/{id} nothing of the user reads through any API, their token stops working, and a copy taken before no longer decrypts",
        .enabled(if: TestHarness.isSQLite))
    func erasedUserIsGoneEverywhere() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            try await harness.post("ana's secret plan", to: channel, from: "ana")
            try await harness.post("ben's reply", to: channel, from: "ben")
            _ = try await harness.store.putUser(
                harness.user("ana"), profile: UserProfile(name: "Ana Lima", metadata: ["iban": .string("PT50 0002")]), in: harness.app)
            _ = try await harness.seedInboxItem(for: "ana", title: "Your card 4242")
            // A broadcast: its content is the business's, stored once for both readers.
            let broadcast = try await harness.parts.notifications.send(
                NewNotification(
                    audience: .users([harness.user("ana"), harness.user("ben")]), category: .transactional,
                    source: .content(title: "Branch closes on Friday", body: "Visit us at the new address")),
                app: harness.app, idempotency: nil)
            #expect(broadcast.report.recipients == 2)
            let token = try await harness.token(for: "ana")
            let benToken = try await harness.token(for: "ben")
            let copy = harness.directory.appendingPathComponent("before-erasure.sqlite").path
            _ = try SQLiteBackup.copy(from: harness.directory.appendingPathComponent("herald.sqlite").path, to: copy)

            try await harness.run { client in
                #expect(try await client.request(.get, "/v1/me/inbox", auth: token).status == .ok, "the token works before")
                let erased = try await client.request(.delete, "/v1/users/ana", auth: harness.apiKey)
                let again = try await client.request(.delete, "/v1/users/ana", auth: harness.apiKey)

                #expect(erased.status == .noContent)
                #expect(again.status == .notFound)
                #expect(try await client.request(.get, "/v1/users/ana", auth: harness.apiKey).status == .notFound)
                #expect(try await client.request(.get, "/v1/users/ana/export", auth: harness.apiKey).status == .notFound)
                #expect(try await client.request(.get, "/v1/me/inbox", auth: token).status == .unauthorized, "the token stopped working at once")
                #expect(try await client.request(.post, "/v1/users/ana/tokens", auth: harness.apiKey).status == .notFound)
                let history = try await client.request(.get, "/v1/channels/\(channel.id)/messages?after=0", auth: harness.apiKey).decode(MessagePage.self)
                #expect(history.messages.map(\.seq) == [1, 2], "the erased user's message keeps its seq")
                #expect(history.messages[0].erased == true && history.messages[0].text.isEmpty && history.messages[0].sender == harness.user("ana"))
                #expect(history.messages[1].text == "ben's reply" && history.messages[1].erased == nil)
                let benInbox = try await client.request(.get, "/v1/me/inbox", auth: benToken).decode(InboxPage.self)
                #expect(benInbox.items.map(\.title) == ["Branch closes on Friday"], "the broadcast is Ben's too")
                let members = try await client.request(.get, "/v1/channels/\(channel.id)", auth: harness.apiKey).decode(Channel.self).members
                #expect(!members.contains(harness.user("ana")))
                let audit = try await client.request(.get, "/v1/audit", auth: harness.apiKey).decode(AuditPage.self)
                #expect(audit.events.contains { $0.action == "DELETE /v1/users/{userId}" && $0.target == "/v1/users/ana" && $0.actor.hasPrefix("platform:") })
            }

            // The copy still holds every row and ciphertext, but the key that opened them is gone.
            let keys = try KeyRing(path: harness.directory.appendingPathComponent("herald.sqlite-keys").path, masterKeys: [harness.masterKey])
            let old = try SQLiteStore(path: copy, masterKey: harness.masterKey, keys: keys)
            #expect(try await old.user(harness.user("ana"), in: harness.app) == nil)
            #expect(try await old.export(harness.user("ana"), in: harness.app) == nil)
            #expect(try await old.user(harness.user("ben"), in: harness.app)?.name == "Ben", "others are untouched")
            let oldHistory = try await old.history(of: channel.id, in: harness.app, query: HistoryQuery(after: 0, limit: 10)).messages
            #expect(oldHistory[0].erased == true && oldHistory[0].text.isEmpty)
            #expect(oldHistory[1].text == "ben's reply")
            let inbox = try? await old.inbox(of: harness.user("ana"), in: harness.app, query: InboxQuery())
            #expect(inbox?.items.isEmpty ?? true, "ana's inbox in the copy does not open")
            let raw = try Data(contentsOf: URL(fileURLWithPath: copy))
            #expect(raw.range(of: Data("secret plan".utf8)) == nil && raw.range(of: Data("PT50 0002".utf8)) == nil)
            #expect(raw.range(of: Data("Your card 4242".utf8)) == nil && raw.range(of: Data("Branch closes".utf8)) == nil, "sealed in the copy too")
            try await old.close()
        }
    }

    @Test("Erasure closes the user's live connections with 4401")
    func erasureClosesSockets() async throws {
        try await TestHarness.with { harness in
            try await harness.run(.live) { client in
                let socket = try #require(try await client.readySocket(as: "ana", harness: harness))
                #expect(try await client.request(.delete, "/v1/users/ana", auth: harness.apiKey).status == .noContent)
                #expect(await socket.closeCode() == 4401)
            }
        }
    }
}
