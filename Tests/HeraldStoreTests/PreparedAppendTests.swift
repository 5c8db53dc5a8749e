import Foundation
import HeraldCore
@testable import HeraldStore
import Testing

/// A send's content is sealed before it reaches SQLite's single writer (`PreparedAppend`); the writer
/// uses it only with the key its own check finds.
@Suite("Sends sealed before the writer")
struct PreparedAppendTests {
    private static let ana = StoreFixture.ana
    private static let ben = StoreFixture.ben

    /// The SQLite store, an app with ana and ben, and a group of the two.
    private static func team(_ fixture: inout StoreFixture) async throws -> (SQLiteStore, AppID, ChannelID) {
        let store = try #require(fixture.store as? SQLiteStore)
        let app = try await fixture.appWithAnaAndBen()
        let channel = try await store.createChannel(NewChannel(type: .group, members: [ana, ben], name: "team"), in: app).channel.id
        return (store, app, channel)
    }

    @Test("A send prepared before its sender was erased and created again is sealed with the new key, and reads back")
    func staleKey() async throws {
        try await StoreBackend.sqlite.withFixture { fixture in
            let (store, app, channel) = try await Self.team(&fixture)
            let request = AppendRequest(app: app, channel: channel, sender: Self.ana, content: MessageContent(text: "hello"))
            let prepared = try #require(PreparedAppend(request, keys: store.keys))

            #expect(try await store.eraseUser(Self.ana, in: app))
            _ = try await store.putUser(Self.ana, profile: UserProfile(name: "ana"), in: app)
            _ = try await store.addMembers([Self.ana], to: channel, in: app)
            let stored = try await store.writer.submit(.append(request, at: Date(), prepared: prepared))
            let page = try await store.history(of: channel, in: app, query: HistoryQuery())

            #expect(stored.message.id != prepared.id, "what was prepared with the shredded key was not used")
            #expect(page.messages.map(\.text) == ["hello"])
        }
    }

    @Test("A prepared send keeps its id and its content; a signed one is never prepared")
    func preparedSend() async throws {
        try await StoreBackend.sqlite.withFixture { fixture in
            let (store, app, channel) = try await Self.team(&fixture)
            let request = AppendRequest(app: app, channel: channel, sender: Self.ana, content: MessageContent(text: "hi", data: ["n": .number(1)]))
            let prepared = try #require(PreparedAppend(request, keys: store.keys))
            var signed = request
            signed.signer = { _ in "signature" }

            let stored = try await store.writer.submit(.append(request, at: Date(), prepared: prepared))
            let read = try await store.message(stored.message.id, in: channel, app: app)

            #expect(stored.message.id == prepared.id)
            #expect(read?.text == "hi" && read?.data == ["n": .number(1)])
            #expect(PreparedAppend(signed, keys: store.keys) == nil)
        }
    }
}
