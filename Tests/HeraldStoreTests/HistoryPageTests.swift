import Foundation
import HeraldCore
import PropertyBased
import Testing

@testable import HeraldStore

/// `historyPage` writes the page the API sends straight from the rows (`HistoryPageWriter`): it must
/// be the same JSON value as the `MessagePage` that `history` reads, for every kind of message and
/// every direction, on both backends, and guard the channel as the route did.
@Suite("History pages as bytes")
struct HistoryPageTests {
    private func user(_ raw: String) -> UserID { UserID(rawValue: raw)! }

    private func decoded(_ bytes: [UInt8]) throws -> MessagePage {
        try WireJSON.decoder().decode(MessagePage.self, from: Data(bytes))
    }

    @Test("A page as bytes is the page `history` reads: every kind of message, both directions, every edge", arguments: StoreBackend.allCases)
    func sameAsHistory(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let (app, _) = try await store.createApp(name: "Acme")
            for name in ["ana", "ben", "eve"] { _ = try await store.putUser(user(name), profile: UserProfile(), in: app.id) }
            let channel = try await store.createChannel(NewChannel(type: .group, members: [user("ana"), user("ben"), user("eve")], name: "team"), in: app.id).channel
            func send(_ text: String, from sender: String?, data: [String: JSONValue]? = nil, signed: Bool = false) async throws -> Message {
                var request = AppendRequest(app: app.id, channel: channel.id, sender: sender.map(user), content: MessageContent(text: text, data: data))
                if signed { request.signer = { message in "eyJ.\(message.seq).sig" } }
                return try await store.append(request).message
            }
            _ = try await send("Hi \"Ana\" \\ / \n\t\u{01} é 😀 결제 \u{2028}", from: "ana")
            _ = try await send("Your card ending 4242 was charged €12.40", from: nil, data: ["amount": .number(12.4), "nested": .object(["k": .array([.null, .bool(true)])])], signed: true)
            let moderated = try await send("rude words", from: "ben")
            _ = try await store.editMessage(moderated.id, in: channel.id, app: app.id, content: MessageContent(text: "[removed]"), signer: nil, byBusiness: true)
            let withdrawn = try await send("sent by mistake", from: "ana")
            _ = try await store.deleteMessage(withdrawn.id, in: channel.id, app: app.id)
            _ = try await send("from someone who leaves", from: "eve")
            for index in 1...60 {
                // Business messages signed, some with data, between the customer's: the window holds every kind.
                _ = try await send("m\(index) \"é\"\n", from: index % 2 == 0 ? "ana" : nil, data: index % 3 == 0 ? ["i": .number(Double(index) / 4)] : nil, signed: index % 2 == 1)
            }

            let queries = [
                HistoryQuery(), HistoryQuery(before: 40, limit: 50), HistoryQuery(before: 3, limit: 50), HistoryQuery(after: 0, limit: 50),
                HistoryQuery(after: 30, limit: 50), HistoryQuery(after: 2, before: 8, limit: 50), HistoryQuery(after: 0, limit: 1),
                HistoryQuery(limit: 1), HistoryQuery(after: 65, limit: 50), HistoryQuery(before: 1, limit: 50),
            ]
            // With SQLite, first from the writer's window where it reaches (the edit and the delete forgot it; the
            // messages after them filled it again from seq 5), then, after an erasure forgot it, from the database.
            for erased in [false, true] {
                if erased { #expect(try await store.eraseUser(user("eve"), in: app.id)) }
                for query in queries {
                    let expected = try await store.history(of: channel.id, in: app.id, query: query)
                    let page = try decoded(try await store.historyPage(of: channel.id, in: app.id, query: query, member: nil))
                    #expect(page == expected, "\(query), erased: \(erased)")
                }
            }
            if let sqlite = store as? SQLiteStore {
                #expect(sqlite.recentMessages.page(of: channel.id, query: HistoryQuery()) == nil)
            }
            let first = try decoded(try await store.historyPage(of: channel.id, in: app.id, query: HistoryQuery(after: 0, limit: 5), member: user("ana")))
            #expect(first.messages.map(\.seq) == [1, 2, 3, 4, 5] && first.hasMore)
            #expect(first.messages[1].jws == "eyJ.2.sig" && first.messages[1].sender == nil && first.messages[1].data?["amount"] == .number(12.4))
            #expect(first.messages[2].editedBy == .business && first.messages[2].text == "[removed]" && first.messages[2].editedAt != nil)
            #expect(first.messages[3].deleted && first.messages[3].text.isEmpty)
            #expect(first.messages[4].erased == true && first.messages[4].text.isEmpty)
        }
    }

    @Test("A recent page written from memory follows every change at once: new, edited, deleted and erased messages, members added and removed", arguments: StoreBackend.allCases)
    func recentPagesFollowChanges(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let (app, _) = try await store.createApp(name: "Acme")
            for name in ["ana", "ben", "cat", "eve"] { _ = try await store.putUser(user(name), profile: UserProfile(), in: app.id) }
            let channel = try await store.createChannel(NewChannel(type: .group, members: [user("ana"), user("ben"), user("eve")], name: "team"), in: app.id).channel
            var sent: [Message] = []
            for index in 1...30 {
                let sender = ["ana", "ben", "eve"][index % 3]
                sent.append(try await store.append(AppendRequest(app: app.id, channel: channel.id, sender: user(sender), content: MessageContent(text: "m\(index)"))).message)
            }
            func page(_ member: String? = "ana") async throws -> MessagePage {
                let page = try decoded(try await store.historyPage(of: channel.id, in: app.id, query: HistoryQuery(), member: member.map(user)))
                #expect(page == (try await store.history(of: channel.id, in: app.id, query: HistoryQuery())))
                return page
            }
            #expect(try await page().messages.map(\.text) == (1...30).map { "m\($0)" })
            if let sqlite = store as? SQLiteStore {
                // The page above came from the writer's window, not the database.
                #expect(sqlite.recentMessages.page(of: channel.id, query: HistoryQuery()) != nil)
            }

            _ = try await store.editMessage(sent[4].id, in: channel.id, app: app.id, content: MessageContent(text: "edited"), signer: nil, byBusiness: false)
            #expect(try await page().messages[4].text == "edited")
            _ = try await store.deleteMessage(sent[5].id, in: channel.id, app: app.id)
            #expect(try await page().messages[5].deleted)

            let more = try await store.append(AppendRequest(app: app.id, channel: channel.id, sender: user("eve"), content: MessageContent(text: "m31"))).message
            #expect(try await page().messages.last?.id == more.id)
            #expect(try await store.eraseUser(user("eve"), in: app.id))
            let afterErasure = try await page()
            #expect(afterErasure.messages.filter { $0.sender == user("eve") }.allSatisfy { $0.erased == true && $0.text.isEmpty })
            #expect(!afterErasure.messages.contains { $0.text == "m31" })

            await #expect(throws: Access.notMember) { try await page("cat") }
            _ = try await store.addMembers([user("cat")], to: channel.id, in: app.id)
            #expect(try await page("cat").messages.count == 31)
            _ = try await store.removeMember(user("ben"), from: channel.id, in: app.id)
            await #expect(throws: Access.notMember) { try await page("ben") }
        }
    }

    @Test("A page is read only from the caller's app and, for a customer, a channel they belong to", arguments: StoreBackend.allCases)
    func guardsTheChannel(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let (app, _) = try await store.createApp(name: "Acme")
            let (other, _) = try await store.createApp(name: "Globex")
            for name in ["ana", "ben", "cat"] { _ = try await store.putUser(user(name), profile: UserProfile(), in: app.id) }
            _ = try await store.putUser(user("ana"), profile: UserProfile(), in: other.id)
            let channel = try await store.createChannel(NewChannel(type: .direct, members: [user("ana"), user("ben")], name: nil), in: app.id).channel
            _ = try await store.append(AppendRequest(app: app.id, channel: channel.id, sender: user("ana"), content: MessageContent(text: "private")))

            #expect(try decoded(await store.historyPage(of: channel.id, in: app.id, query: HistoryQuery(), member: user("ben"))).messages.count == 1)
            #expect(try decoded(await store.historyPage(of: channel.id, in: app.id, query: HistoryQuery(), member: nil)).messages.count == 1)
            await #expect(throws: Access.notMember) {
                try await store.historyPage(of: channel.id, in: app.id, query: HistoryQuery(), member: user("cat"))
            }
            // Another tenant's customer with the same user id, and the platform of another app, see nothing.
            for member in [user("ana"), nil] {
                await #expect(throws: HeraldError.notFound(resource: "channel")) {
                    try await store.historyPage(of: channel.id, in: other.id, query: HistoryQuery(), member: member)
                }
            }
            await #expect(throws: HeraldError.notFound(resource: "channel")) {
                try await store.historyPage(of: ChannelID.generate(), in: app.id, query: HistoryQuery(), member: nil)
            }
        }
    }

    @Test("Content spliced as it was sealed, or read again when an older version wrote it, gives the message `history` gives")
    func writerMatchesMessages() async {
        let older = JSONEncoder()
        older.outputFormatting = .sortedKeys
        await propertyCheck(count: 500, input: SealedContentTests.text, SealedContentTests.leaf.array(of: 0...3), Gen.bool, Gen.int(in: 0...3)) {
            text, leaves, byBusiness, kind in
            let data = leaves.isEmpty ? nil : Dictionary(uniqueKeysWithValues: leaves.enumerated().map { ("k\($0.offset)", $0.element) })
            let content = MessageRecord.Content(text: text, data: data, jws: byBusiness ? "a.b.c" : nil, editedBy: byBusiness ? .business : nil)
            var message = Message(
                id: .generate(), channelId: ChannelID.generate(), seq: 7, sender: byBusiness ? nil : UserID(rawValue: "ana"), text: text, data: data,
                createdAt: WireTime.date(milliseconds: 1_765_000_000_123), editedAt: byBusiness ? WireTime.date(milliseconds: 1_765_000_001_000) : nil)
            message.jws = content.jws
            message.editedBy = content.editedBy
            let sealed: Data? =
                switch kind {
                case 0: Data(content.json)
                case 1: try older.encode(content)
                default: nil
                }
            if kind == 2 { (message.text, message.data, message.jws, message.editedBy, message.erased) = ("", nil, nil, nil, true) }
            if kind == 3 { (message.text, message.data, message.jws, message.editedBy, message.deleted) = ("", nil, nil, nil, true) }
            var writer = HistoryPageWriter(channel: message.channelId, expected: 1, newestFirst: false)
            try writer.append(
                id: message.id, seq: message.seq, sender: message.sender, createdAt: WireTime.milliseconds(message.createdAt),
                editedAt: message.editedAt.map(WireTime.milliseconds), deleted: kind == 3, content: sealed)
            #expect(HistoryPageWriter.isContentJSON(Data(content.json)))
            #expect(try decoded(writer.finish(hasMore: true)) == MessagePage(messages: [message], hasMore: true))
        }
    }

    @Test("Opened content that is not a message's is a corrupt store, never a page")
    func refusesOtherContent() throws {
        for shape in [#"{"text":1}"#, #"{}"#, #"[]"#, #"{"text":"a""#, ""] {
            var writer = HistoryPageWriter(channel: ChannelID.generate(), expected: 1, newestFirst: false)
            #expect(throws: StoreCorruption.self, "\(shape)") {
                try writer.append(id: .generate(), seq: 1, sender: nil, createdAt: 0, editedAt: nil, deleted: false, content: Data(shape.utf8))
            }
        }
    }

    @Test("Times of any size write a date and never trap")
    func extremeTimes() throws {
        for time in [Int64.min, Int64.max, -1, 0, 253_402_300_799_999] {
            var writer = HistoryPageWriter(channel: ChannelID.generate(), expected: 1, newestFirst: true)
            try writer.append(id: .generate(), seq: 1, sender: nil, createdAt: time, editedAt: time, deleted: true, content: nil)
            #expect(throws: Never.self) { try JSONSerialization.jsonObject(with: Data(writer.finish(hasMore: false))) }
        }
    }
}
