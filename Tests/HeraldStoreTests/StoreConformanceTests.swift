import Foundation
import HeraldCore
import HeraldStore
import Testing

/// The behaviour every `Store` backend must have. Each test runs once per `StoreBackend`.
@Suite("Store conformance")
struct StoreConformanceTests {
    // MARK: fixtures

    private func withStore(_ backend: StoreBackend, _ body: (inout StoreFixture) async throws -> Void) async throws {
        try await backend.withFixture(body)
    }

    private func user(_ raw: String) -> UserID { UserID(rawValue: raw)! }

    /// An app with users `names`, each with an empty profile.
    private func makeApp(_ store: any Store, users names: [String] = ["ana", "ben", "cat"]) async throws -> AppID {
        let (app, _) = try await store.createApp(name: "Acme")
        for name in names { _ = try await store.putUser(user(name), profile: UserProfile(name: name.capitalized), in: app.id) }
        return app.id
    }

    private func group(_ store: any Store, _ app: AppID, _ members: [String]) async throws -> Channel {
        try await store.createChannel(NewChannel(type: .group, members: members.map(user), name: "team"), in: app).channel
    }

    @discardableResult
    private func send(_ store: any Store, _ text: String, to channel: Channel, in app: AppID, from sender: String?, key: String? = nil) async throws -> AppendResult {
        let content = MessageContent(text: text)
        let idempotency = key.map {
            IdempotencyKey(scope: "test", key: ClientMessageID(rawValue: $0)!, request: content.canonicalBytes(sender: nil), user: nil, requiresSameRequest: true)
        }
        return try await store.append(AppendRequest(app: app, channel: channel.id, sender: sender.map(user), content: content, idempotency: idempotency))
    }

    // MARK: apps and credentials

    @Test("An API key authenticates its app until it is rotated", arguments: StoreBackend.allCases)
    func apiKeys(backend: StoreBackend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            let (app, key) = try await store.createApp(name: "Acme")
            let (other, otherKey) = try await store.createApp(name: "Globex")

            #expect(try await store.authenticate(key) == app.id)
            #expect(try await store.authenticate(otherKey) == other.id)
            #expect(try await store.authenticate(APIKey(token: "hk_\(key.keyID)_wrongsecret")!) == nil)

            let rotated = try await store.rotateAPIKey(of: app.id)
            #expect(try await store.authenticate(key) == nil)
            #expect(try await store.authenticate(rotated) == app.id)
            #expect(try await store.apps().map(\.id) == [app.id, other.id])
        }
    }

    @Test("A token key is created once per app and found again by its kid", arguments: StoreBackend.allCases)
    func tokenKeys(backend: StoreBackend) async throws {
        try await withStore(backend) { fixture in
            let app = try await makeApp(fixture.store)

            let first = try await fixture.store.currentTokenKey(of: app)
            let second = try await fixture.store.currentTokenKey(of: app)
            try await fixture.restart()

            #expect(first == second)
            #expect(first.secret.count == 32)
            #expect(try await fixture.store.tokenKey(kid: first.kid) == first)
            #expect(try await fixture.store.tokenKey(kid: "unknown") == nil)
        }
    }

    // MARK: users

    @Test("Putting a user creates it, then replaces its profile and keeps its creation time", arguments: StoreBackend.allCases)
    func users(backend: StoreBackend) async throws {
        try await withStore(backend) { fixture in
            let app = try await makeApp(fixture.store, users: [])
            let (created, isNew) = try await fixture.store.putUser(user("ana"), profile: UserProfile(name: "Ana", metadata: ["tier": .string("gold")]), in: app)
            fixture.clock.advance(by: 60)

            let (updated, isNewAgain) = try await fixture.store.putUser(user("ana"), profile: UserProfile(locale: "en"), in: app)

            #expect(isNew && !isNewAgain)
            #expect(created.metadata == ["tier": .string("gold")])
            #expect(updated.name == nil && updated.locale == "en" && updated.metadata.isEmpty)
            #expect(updated.createdAt == created.createdAt && updated.updatedAt > created.updatedAt)
            #expect(try await fixture.store.user(user("ana"), in: app) == updated)
        }
    }

    // MARK: channels

    @Test("A direct channel between the same two users is created once, whatever the order", arguments: StoreBackend.allCases)
    func directChannelsAreUnique(backend: StoreBackend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            let app = try await makeApp(store)

            let results = try await withThrowingTaskGroup(of: (Channel, Bool).self) { group in
                for index in 0..<10 {
                    group.addTask {
                        try await store.createChannel(NewChannel(type: .direct, members: index.isMultiple(of: 2) ? [user("ana"), user("ben")] : [user("ben"), user("ana")]), in: app)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }

            #expect(Set(results.map(\.0.id)).count == 1)
            #expect(results.filter(\.1).count == 1)
        }
    }

    @Test("Members that are not users of the app are named in the error", arguments: StoreBackend.allCases)
    func unknownMembers(backend: StoreBackend) async throws {
        try await withStore(backend) { fixture in
            let app = try await makeApp(fixture.store)

            await #expect(throws: HeraldError.invalid([FieldProblem(field: "members[1]", reason: .unknownUser, detail: "no user zed in this app")])) {
                try await fixture.store.createChannel(NewChannel(type: .group, members: [user("ana"), user("zed")]), in: app)
            }
        }
    }

    @Test("Group members can be added and removed; a removed member cannot send", arguments: StoreBackend.allCases)
    func groupMembers(backend: StoreBackend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            let app = try await makeApp(store)
            let channel = try await group(store, app, ["ana", "ben"])
            try await send(store, "before cat joined", to: channel, in: app, from: "ana")

            let grown = try await store.addMembers([user("cat"), user("ana")], to: channel.id, in: app)
            let catSummary = try #require(try await store.channelSummaries(of: user("cat"), in: app).first)
            let shrunk = try await store.removeMember(user("ben"), from: channel.id, in: app)

            #expect(grown.members == [user("ana"), user("ben"), user("cat")])
            #expect(catSummary.unreadCount == 0)
            #expect(shrunk.members == [user("ana"), user("cat")])
            await #expect(throws: HeraldError.forbidden(reason: "Not a member of this channel.")) {
                try await send(store, "hi", to: channel, in: app, from: "ben")
            }
            await #expect(throws: HeraldError.notFound(resource: "member")) { try await store.removeMember(user("ben"), from: channel.id, in: app) }
        }
    }

    @Test("The members of a direct channel cannot change", arguments: StoreBackend.allCases)
    func directMembersAreFixed(backend: StoreBackend) async throws {
        try await withStore(backend) { fixture in
            let app = try await makeApp(fixture.store)
            let direct = try await fixture.store.createChannel(NewChannel(type: .direct, members: [user("ana"), user("ben")]), in: app).channel

            await #expect(throws: HeraldError.self) { try await fixture.store.addMembers([user("cat")], to: direct.id, in: app) }
            await #expect(throws: HeraldError.self) { try await fixture.store.removeMember(user("ana"), from: direct.id, in: app) }
        }
    }

    // MARK: messages

    @Test("Concurrent sends get gap-free, strictly increasing seqs per channel", arguments: StoreBackend.allCases)
    func concurrentSeqsAreGapFree(backend: StoreBackend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            let app = try await makeApp(store)
            let channels = [try await group(store, app, ["ana", "ben"]), try await group(store, app, ["ana", "cat"]), try await group(store, app, ["ben", "cat"])]

            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for index in 0..<300 {
                    let channel = channels[index % 3]
                    tasks.addTask { try await send(store, "m\(index)", to: channel, in: app, from: channel.members[index % 2].rawValue) }
                }
                try await tasks.waitForAll()
            }

            for channel in channels {
                let page = try await store.history(of: channel.id, in: app, query: HistoryQuery(after: 0, limit: 200))
                #expect(page.messages.map(\.seq) == Array(1...100))
                #expect(try await store.channel(channel.id, in: app)?.lastSeq == 100)
            }
            let observedSeqs = fixture.observed.all.filter { $0.message.channelId == channels[0].id }.map(\.message.seq)
            #expect(observedSeqs == Array(1...100), "the observer sees each channel's messages in seq order")
        }
    }

    @Test("A send by a sender erased meanwhile is refused and leaves no gap in the channel's seqs", arguments: StoreBackend.allCases)
    func erasedSenderLeavesNoGap(backend: StoreBackend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            let app = try await makeApp(store)
            let channel = try await group(store, app, ["ana", "ben"])
            try await send(store, "one", to: channel, in: app, from: "ben")
            // The first step of an erasure (the key is destroyed), racing a send of the user's.
            if let sqlite = store as? SQLiteStore { try await sqlite.keys.destroyKey(of: user("ana"), in: app) }
            if let postgres = store as? PostgresStore { try await postgres.keys.destroyKey(of: user("ana"), in: app) }

            await #expect(throws: HeraldError.self) { try await send(store, "from the erased", to: channel, in: app, from: "ana") }
            let next = try await send(store, "two", to: channel, in: app, from: "ben")

            #expect(next.message.seq == 2, "no seq was spent on the refused send")
        }
    }

    @Test("A repeated idempotency key returns the first message, across restarts", arguments: StoreBackend.allCases)
    func idempotentAppends(backend: StoreBackend) async throws {
        try await withStore(backend) { fixture in
            let app = try await makeApp(fixture.store)
            let channel = try await group(fixture.store, app, ["ana", "ben"])

            let first = try await send(fixture.store, "pay", to: channel, in: app, from: nil, key: "k1")
            let again = try await send(fixture.store, "pay", to: channel, in: app, from: nil, key: "k1")
            try await fixture.restart()
            let afterRestart = try await send(fixture.store, "pay", to: channel, in: app, from: nil, key: "k1")

            #expect(!first.isReplay && again.isReplay && afterRestart.isReplay)
            #expect(again.message == first.message && afterRestart.message == first.message)
            #expect(try await fixture.store.channel(channel.id, in: app)?.lastSeq == 1)
            await #expect(throws: HeraldError.conflict(detail: "This Idempotency-Key was already used with a different request.")) {
                try await send(fixture.store, "different", to: channel, in: app, from: nil, key: "k1")
            }
        }
    }

    @Test("A client message id repeated with another body still returns the first message", arguments: StoreBackend.allCases)
    func lenientClientMessageIDs(backend: StoreBackend) async throws {
        try await withStore(backend) { fixture in
            let app = try await makeApp(fixture.store)
            let channel = try await group(fixture.store, app, ["ana", "ben"])
            func request(_ text: String) -> AppendRequest {
                let content = MessageContent(text: text)
                let key = IdempotencyKey(scope: "ws:ana", key: ClientMessageID(rawValue: "c1")!, request: content.canonicalBytes(sender: nil), user: nil, requiresSameRequest: false)
                return AppendRequest(app: app, channel: channel.id, sender: user("ana"), content: content, idempotency: key)
            }

            let first = try await fixture.store.append(request("one"))
            let second = try await fixture.store.append(request("one, edited before the retry"))

            #expect(second.isReplay && second.message == first.message)
        }
    }

    @Test(
        "A key replays only for whoever may still send there: a removed member gets forbidden, another app's channel not found, never the stored message",
        arguments: StoreBackend.allCases)
    func replayChecksAccessFirst(backend: StoreBackend) async throws {
        try await withStore(backend) { fixture in
            let app = try await makeApp(fixture.store)
            let other = try await makeApp(fixture.store)
            let channel = try await group(fixture.store, app, ["ana", "ben"])
            func request(in app: AppID) -> AppendRequest {
                let content = MessageContent(text: "sent while a member")
                let key = IdempotencyKey(scope: "ws:ben", key: ClientMessageID(rawValue: "c1")!, request: content.canonicalBytes(sender: user("ben")), user: user("ben"), requiresSameRequest: false)
                return AppendRequest(app: app, channel: channel.id, sender: user("ben"), content: content, idempotency: key)
            }
            let first = try await fixture.store.append(request(in: app))
            #expect(try await fixture.store.append(request(in: app)).isReplay)

            _ = try await fixture.store.removeMember(user("ben"), from: channel.id, in: app)
            await #expect(throws: HeraldError.forbidden(reason: "Not a member of this channel.")) { try await fixture.store.append(request(in: app)) }
            await #expect(throws: HeraldError.notFound(resource: "channel")) { try await fixture.store.append(request(in: other)) }
            #expect(first.message.seq == 1)
        }
    }

    @Test("Idempotency keys older than the cutoff are forgotten", arguments: StoreBackend.allCases)
    func purgeIdempotencyKeys(backend: StoreBackend) async throws {
        try await withStore(backend) { fixture in
            let app = try await makeApp(fixture.store)
            let channel = try await group(fixture.store, app, ["ana", "ben"])
            try await send(fixture.store, "old", to: channel, in: app, from: nil, key: "old")
            fixture.clock.advance(by: 3 * 24 * 3600)
            try await send(fixture.store, "new", to: channel, in: app, from: nil, key: "new")

            let removed = try await fixture.store.purgeIdempotencyKeys(olderThan: fixture.clock.now.addingTimeInterval(-2 * 24 * 3600))

            #expect(removed == 1)
            #expect(try await send(fixture.store, "new", to: channel, in: app, from: nil, key: "new").isReplay)
            #expect(try await !send(fixture.store, "old", to: channel, in: app, from: nil, key: "old").isReplay)
        }
    }

    @Test("Edits keep the seq; a delete leaves a tombstone; both are observed", arguments: StoreBackend.allCases)
    func editAndDelete(backend: StoreBackend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            let app = try await makeApp(store)
            let channel = try await group(store, app, ["ana", "ben"])
            let original = try await send(store, "helo", to: channel, in: app, from: "ana").message
            try await send(store, "second", to: channel, in: app, from: "ben")

            let edited = try await store.editMessage(original.id, in: channel.id, app: app, content: MessageContent(text: "hello", data: ["fixed": .bool(true)]))
            let deleted = try await store.deleteMessage(original.id, in: channel.id, app: app)
            let deletedAgain = try await store.deleteMessage(original.id, in: channel.id, app: app)

            #expect(edited.seq == 1 && edited.text == "hello" && edited.editedAt != nil)
            #expect(deleted.seq == 1 && deleted.deleted && deleted.text.isEmpty && deleted.data == nil)
            #expect(deletedAgain == deleted)
            #expect(try await store.history(of: channel.id, in: app, query: HistoryQuery()).messages.map(\.seq) == [1, 2])
            #expect(fixture.observed.all.map(\.change) == [.created, .created, .updated, .deleted])
            await #expect(throws: HeraldError.self) {
                try await store.editMessage(original.id, in: channel.id, app: app, content: MessageContent(text: "again"))
            }
        }
    }

    @Test("History pages forwards from `after` and backwards from `before`", arguments: StoreBackend.allCases)
    func historyPaging(backend: StoreBackend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            let app = try await makeApp(store)
            let channel = try await group(store, app, ["ana", "ben"])
            for index in 1...120 { try await send(store, "m\(index)", to: channel, in: app, from: "ana") }

            let newest = try await store.history(of: channel.id, in: app, query: HistoryQuery())
            let older = try await store.history(of: channel.id, in: app, query: HistoryQuery(before: 71, limit: 50))
            let oldest = try await store.history(of: channel.id, in: app, query: HistoryQuery(before: 21, limit: 50))
            let resumed = try await store.history(of: channel.id, in: app, query: HistoryQuery(after: 100, limit: 50))
            let window = try await store.history(of: channel.id, in: app, query: HistoryQuery(after: 10, before: 16, limit: 50))

            #expect(newest.messages.map(\.seq) == Array(71...120) && newest.hasMore)
            #expect(older.messages.map(\.seq) == Array(21...70) && older.hasMore)
            #expect(oldest.messages.map(\.seq) == Array(1...20) && !oldest.hasMore)
            #expect(resumed.messages.map(\.seq) == Array(101...120) && !resumed.hasMore)
            #expect(window.messages.map(\.seq) == Array(11...15) && !window.hasMore)
            #expect(newest.messages.last?.text == "m120")
        }
    }

    @Test("Unread counts follow read positions, which only move forward", arguments: StoreBackend.allCases)
    func unreadCounts(backend: StoreBackend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            let app = try await makeApp(store)
            let channel = try await group(store, app, ["ana", "ben"])
            for text in ["one", "two", "three"] { try await send(store, text, to: channel, in: app, from: "ana") }
            func unread(_ name: String) async throws -> Int { try await store.channelSummaries(of: user(name), in: app).first?.unreadCount ?? -1 }

            let initial = try await unread("ben")
            let movedTo2 = try await store.markRead(channel.id, upTo: 2, by: user("ben"), in: app)
            let back = try await store.markRead(channel.id, upTo: 1, by: user("ben"), in: app)
            let afterPartialRead = try await unread("ben")
            let beyond = try await store.markRead(channel.id, upTo: 999, by: user("ben"), in: app)

            #expect(initial == 3)
            #expect(movedTo2.seq == 2 && back.seq == 2 && afterPartialRead == 1)
            #expect(beyond.seq == 3)
            #expect(try await unread("ben") == 0)
            #expect(try await unread("ana") == 0, "one's own messages are not unread")
            let summary = try #require(try await store.channelSummaries(of: user("ben"), in: app).first)
            #expect(summary.lastMessage?.text == "three" && summary.lastReadSeq == 3)
            await #expect(throws: HeraldError.self) { try await store.markRead(channel.id, upTo: 1, by: user("cat"), in: app) }
        }
    }

    @Test("A batch of read marks moves positions forward only, skips non-members and other apps' channels", arguments: StoreBackend.allCases)
    func batchReadMarks(backend: StoreBackend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            let app = try await makeApp(store, users: ["ana", "ben", "cat", "dan"])
            let other = try await makeApp(store)
            let channel = try await group(store, app, ["ana", "ben", "dan"])
            for text in ["one", "two", "three"] { try await send(store, text, to: channel, in: app, from: "ana") }
            _ = try await store.markRead(channel.id, upTo: 2, by: user("dan"), in: app)

            let moved = try await store.markRead([
                ReadMark(app: app, channel: channel.id, user: user("ben"), seq: 999),
                ReadMark(app: app, channel: channel.id, user: user("dan"), seq: 1),
                ReadMark(app: app, channel: channel.id, user: user("cat"), seq: 3),
                ReadMark(app: other, channel: channel.id, user: user("ana"), seq: 3),
                ReadMark(app: app, channel: ChannelID.generate(), user: user("ana"), seq: 3),
            ])

            #expect(moved.map(\.app) == [app])
            #expect(moved.map(\.position) == [ReadPosition(channelId: channel.id, userId: user("ben"), seq: 3)])
            #expect(try await store.channelSummaries(of: user("dan"), in: app).first?.lastReadSeq == 2, "never back")
            #expect(try await store.markRead([]).isEmpty)
        }
    }

    @Test("Nothing of one app is visible from another", arguments: StoreBackend.allCases)
    func tenantIsolation(backend: StoreBackend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            let app = try await makeApp(store)
            let other = try await makeApp(store)
            let channel = try await group(store, app, ["ana", "ben"])
            let message = try await send(store, "secret", to: channel, in: app, from: "ana").message

            #expect(try await store.channel(channel.id, in: other) == nil)
            #expect(try await store.message(message.id, in: channel.id, app: other) == nil)
            #expect(try await store.channelSummaries(of: user("ana"), in: other).isEmpty)
            await #expect(throws: HeraldError.notFound(resource: "channel")) {
                try await store.append(AppendRequest(app: other, channel: channel.id, sender: nil, content: MessageContent(text: "x")))
            }
            await #expect(throws: HeraldError.notFound(resource: "channel")) { try await store.history(of: channel.id, in: other, query: HistoryQuery()) }
            await #expect(throws: HeraldError.notFound(resource: "message")) { try await store.deleteMessage(message.id, in: channel.id, app: other) }
        }
    }
}
