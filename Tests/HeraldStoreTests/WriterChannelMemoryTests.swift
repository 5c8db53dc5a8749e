import Foundation
import GRDB
import HeraldCore
@testable import HeraldStore
import Testing

/// SQLite's message writer keeps the channels it writes to in memory (`WriterChannelMemory`): each
/// test warms that memory with a send, changes the channel some other way, and checks that the next
/// send sees the change, as it would with no memory at all.
@Suite("SQLite message writer's channel memory")
struct WriterChannelMemoryTests {
    private static let ana = StoreFixture.ana
    private static let ben = StoreFixture.ben
    private static let cat = UserID(rawValue: "cat")!

    private func send(_ store: any Store, _ text: String, to channel: ChannelID, in app: AppID, from sender: UserID) async throws -> AppendResult {
        try await store.append(AppendRequest(app: app, channel: channel, sender: sender, content: MessageContent(text: text)))
    }

    private func channelReads(_ store: any Store) throws -> Int {
        try #require(store as? SQLiteStore).writerMemory.state.withLock { $0.channelReads }
    }

    private func withGroup(_ body: (inout StoreFixture, AppID, ChannelID) async throws -> Void) async throws {
        try await StoreBackend.sqlite.withFixture { fixture in
            let app = try await fixture.appWithAnaAndBen()
            _ = try await fixture.store.putUser(Self.cat, profile: UserProfile(name: "cat"), in: app)
            let channel = try await fixture.store.createChannel(NewChannel(type: .group, members: [Self.ana, Self.ben], name: "team"), in: app).channel.id
            _ = try await send(fixture.store, "warm", to: channel, in: app, from: Self.ana)
            try await body(&fixture, app, channel)
        }
    }

    @Test("Members added or removed through the store are seen by the next send")
    func membershipChanges() async throws {
        try await withGroup { fixture, app, channel in
            let store = fixture.store
            _ = try await store.addMembers([Self.cat], to: channel, in: app)
            let byCat = try await send(store, "hello", to: channel, in: app, from: Self.cat)
            _ = try await store.removeMember(Self.ben, from: channel, in: app)

            #expect(byCat.message.seq == 2)
            #expect(fixture.observed.all.last?.members == [Self.ana, Self.ben, Self.cat], "the delivery goes to the new member too")
            await #expect(throws: HeraldError.forbidden(reason: "Not a member of this channel.")) {
                try await send(store, "still here?", to: channel, in: app, from: Self.ben)
            }
        }
    }

    @Test("A device registered after a send makes the next message write its push row")
    func deviceRegistration() async throws {
        try await withGroup { fixture, app, channel in
            let store = fixture.store
            let before = try #require(fixture.observed.all.last)
            _ = try await store.registerDevice(NewDevice(platform: .apns, token: String(repeating: "ab", count: 32)), for: Self.ben, in: app)
            _ = try await send(store, "wake up", to: channel, in: app, from: Self.ana)

            #expect(!before.hasPushRow)
            #expect(fixture.observed.all.last?.hasPushRow == true)
        }
    }

    @Test("A change written behind the store's back, by another connection, is seen by the next send")
    func foreignWrites() async throws {
        try await withGroup { fixture, app, channel in
            try await fixture.writeDatabase("UPDATE channel SET lastSeq = lastSeq + 5")
            let next = try await send(fixture.store, "after the jump", to: channel, in: app, from: Self.ana)
            try await fixture.writeDatabase("DELETE FROM channelMember WHERE userID = 'ben'")

            #expect(next.message.seq == 7)
            await #expect(throws: HeraldError.forbidden(reason: "Not a member of this channel.")) {
                try await send(fixture.store, "still here?", to: channel, in: app, from: Self.ben)
            }
        }
    }

    @Test("An erased member is no longer delivered to, and cannot send")
    func erasure() async throws {
        try await withGroup { fixture, app, channel in
            #expect(try await fixture.store.eraseUser(Self.ben, in: app))
            _ = try await send(fixture.store, "after", to: channel, in: app, from: Self.ana)

            #expect(fixture.observed.all.last?.members == [Self.ana])
            await #expect(throws: HeraldError.self) { try await send(fixture.store, "ghost", to: channel, in: app, from: Self.ben) }
        }
    }

    @Test("A batch over more channels than the memory holds still writes every channel's seq; members are bounded too")
    func pastCapacity() async throws {
        try await withGroup { fixture, app, first in
            let store = try #require(fixture.store as? SQLiteStore)
            store.writerMemory.state.withLock { $0 = WriterChannelMemory(observer: $0.observer, capacity: 1) }
            let second = try await store.createChannel(NewChannel(type: .group, members: [Self.ana, Self.ben], name: "other"), in: app).channel.id
            let batch = await store.appendAll([first, second, first].map {
                AppendRequest(app: app, channel: $0, sender: Self.ana, content: MessageContent(text: "in one batch"))
            })
            let next = try await send(store, "after", to: first, in: app, from: Self.ben)
            let nextInSecond = try await send(store, "after", to: second, in: app, from: Self.ben)

            #expect(try batch.map { try $0.get().message.seq } == [2, 1, 3])
            #expect(next.message.seq == 4 && nextInSecond.message.seq == 2)
            store.writerMemory.state.withLock { $0 = WriterChannelMemory(observer: $0.observer, memberCapacity: 1) }
            _ = try await send(store, "more", to: first, in: app, from: Self.ana)
            _ = try await send(store, "again", to: first, in: app, from: Self.ana)
            #expect(try channelReads(store) == 2, "past the member bound, the next batch reads the channel again")
        }
    }

    @Test("Read marks do not make the writer read the channel again; seqs and read positions written once per batch survive a restart")
    func readMarksAndRestart() async throws {
        try await withGroup { fixture, app, channel in
            let readsAfterWarm = try channelReads(fixture.store)
            _ = try await fixture.store.markRead(channel, upTo: 1, by: Self.ben, in: app)
            for text in ["one", "two", "three"] { _ = try await send(fixture.store, text, to: channel, in: app, from: Self.ana) }
            let readsAfterSends = try channelReads(fixture.store)
            try await fixture.restart()
            let afterRestart = try await send(fixture.store, "four", to: channel, in: app, from: Self.ben)
            let anaSummary = try #require(try await fixture.store.channelSummaries(of: Self.ana, in: app).first)
            let benSummary = try #require(try await fixture.store.channelSummaries(of: Self.ben, in: app).first)

            #expect(readsAfterWarm == 1 && readsAfterSends == 1)
            #expect(afterRestart.message.seq == 5)
            #expect(anaSummary.channel.lastSeq == 5 && anaSummary.unreadCount == 1, "ana's own sends marked her read up to 4")
            #expect(benSummary.unreadCount == 0)
        }
    }
}
