import Foundation
import HeraldCore
import PropertyBased
import Testing

@testable import HeraldStore

/// The SQLite store's in-memory caches: `ObservedTableCache`'s rule against a read that races with a
/// change, and `RecentMessages`' pages, which must be exactly the pages the database gives.
@Suite("Observed caches")
struct ObservedTableCacheTests {
    let ana = UserID(rawValue: "ana")!
    let app = AppID(rawValue: "app_" + String(repeating: "a", count: 26))!

    @Test("A read begun before a change committed does not put its value back; one begun after does")
    func racingReadIsNotRemembered() {
        let cache = ObservedTableCache<AppUser, String>.tokenEpochs()
        let before = cache.generation()
        cache.forgetAll()  // a revocation commits while the read is under way
        cache.remember("old", for: AppUser(app: app, user: ana), readIn: before)

        #expect(cache.value(for: AppUser(app: app, user: ana)) == nil)

        cache.remember("new", for: AppUser(app: app, user: ana), readIn: cache.generation())

        #expect(cache.value(for: AppUser(app: app, user: ana)) == "new")
    }

    @Test("Past its limit the cache starts again rather than growing")
    func bounded() {
        let cache = ObservedTableCache<AppUser, String>.tokenEpochs(limit: 2)
        for name in ["a", "b", "c"] { cache.remember(name, for: AppUser(app: app, user: UserID(rawValue: name)!), readIn: cache.generation()) }

        #expect(cache.value(for: AppUser(app: app, user: UserID(rawValue: "c")!)) == "c")
        #expect(cache.value(for: AppUser(app: app, user: UserID(rawValue: "a")!)) == nil)
    }

    @Test("Channel readers count by their members: a cache full of large channels starts again rather than growing")
    func readersBoundedByMembers() {
        let cache = ObservedTableCache<ChannelID, ChannelReaders>.channelReaders(limit: 2_500)
        let large = (0..<3).map { _ in ChannelID.generate() }
        let members = Set((0..<999).map { UserID(rawValue: "u\($0)")! })
        for channel in large { cache.remember(ChannelReaders(app: app, members: members), for: channel, readIn: cache.generation()) }

        #expect(cache.value(for: large[2]) != nil)
        #expect(cache.value(for: large[0]) == nil && cache.value(for: large[1]) == nil)
        // One larger than the whole budget is never kept.
        let huge = ChannelID.generate()
        cache.remember(ChannelReaders(app: app, members: Set((0..<3_000).map { UserID(rawValue: "h\($0)")! })), for: huge, readIn: cache.generation())
        #expect(cache.value(for: huge) == nil && cache.value(for: large[2]) != nil)
    }

    @Test("Channel readers are forgotten on a membership change or a deleted channel, not on a message or a read position")
    func channelReadersWatch() {
        let cache = ObservedTableCache<ChannelID, ChannelReaders>.channelReaders()
        #expect(cache.watches(.insert(tableName: "channelMember")))
        #expect(cache.watches(.delete(tableName: "channelMember")))
        #expect(cache.watches(.delete(tableName: "channel")))
        #expect(cache.watches(.update(tableName: "channelMember", columnNames: ["userID"])))
        #expect(!cache.watches(.update(tableName: "channelMember", columnNames: ["lastReadSeq"])))
        #expect(!cache.watches(.update(tableName: "channel", columnNames: ["lastSeq", "lastActivityAt"])))
        #expect(!cache.watches(.insert(tableName: "message")))
    }

    // MARK: recent messages

    private static let channel = ChannelID.generate()

    /// A window of `count` messages from seq `first`, added as the writer adds them.
    private static func recent(first: Int64, count: Int, perChannel: Int = Limits.pageSize) -> (RecentMessages, [Message]) {
        let recent = RecentMessages(perChannel: perChannel)
        let messages = (0..<Int64(count)).map { offset in
            Message(
                id: .generate(), channelId: channel, seq: first + offset, sender: offset % 3 == 0 ? nil : UserID(rawValue: "ana"), text: "m\(first + offset) \"q\"",
                data: offset % 5 == 0 ? ["n": .number(Double(offset))] : nil, createdAt: WireTime.date(milliseconds: 1_765_000_000_000 + offset))
        }
        let app = AppID.generate()
        for message in messages {
            recent.add([CommittedMessage(app: app, change: .created, message: message, members: [], hasPushRow: false)], writtenIn: recent.generation())
        }
        return (recent, messages)
    }

    /// What the database would answer for `query` if the channel held exactly `messages` (seq order).
    private static func expected(_ messages: [Message], _ query: HistoryQuery) -> MessagePage {
        let bounds = query.bounds
        let inRange = messages.filter { $0.seq > bounds.after && $0.seq < bounds.before }
        let fetched = query.isBackward ? Array(inRange.reversed().prefix(bounds.fetch)) : Array(inRange.prefix(bounds.fetch))
        let (rows, hasMore) = query.page(fetched)
        return MessagePage(messages: rows, hasMore: hasMore)
    }

    @Test("Any page the window answers is the page the database gives; what it cannot know it leaves to the database")
    func pagesMatchTheDatabase() async {
        // One number read in mixed radix: the query's shape, its `after`, its span and its limit.
        let queries = Gen.int(in: 0...(5 * 161 * 160 * Limits.pageSize - 1)).map { number -> HistoryQuery in
            let (shape, a, b, limit) = (number % 5, number / 5 % 161, 1 + number / (5 * 161) % 160, 1 + number / (5 * 161 * 160))
            switch shape {
            case 0: return HistoryQuery(limit: limit)
            case 1: return HistoryQuery(after: Int64(a), limit: limit)
            case 2: return HistoryQuery(before: Int64(b), limit: limit)
            case 3: return HistoryQuery(after: Int64(a), before: Int64(a + 1 + b), limit: limit)
            default: return HistoryQuery(after: Int64(a), limit: Limits.pageSize)
            }
        }
        await propertyCheck(count: 600, input: Gen.element(of: [Int64(1), 2, 40]).map { $0 ?? 1 }, Gen.int(in: 1...120), queries) { first, count, query in
            let (recent, messages) = Self.recent(first: first, count: count)
            // Below the window the channel has messages too (seqs start at 1), which only the database knows.
            let older = (1..<first).map { Message(id: .generate(), channelId: Self.channel, seq: $0, sender: nil, text: "old", data: nil, createdAt: Date()) }
            guard let page = recent.page(of: Self.channel, query: query) else {
                // Left to the database only when the window cannot know the page.
                let wanted = Self.expected(older + messages, query)
                #expect(first > 1 && (wanted.messages.contains { $0.seq < first } || wanted.messages.first?.seq == first), "\(query)")
                return
            }
            let decoded = try WireJSON.decoder().decode(MessagePage.self, from: Data(page))
            #expect(decoded == Self.expected(older + messages, query), "first \(first), \(count) messages, \(query)")
        }
    }

    @Test("A window keeps its newest messages; all windows keep to the byte budget, the least recently written dropped first")
    func bounds() throws {
        let (recent, messages) = Self.recent(first: 1, count: 500, perChannel: 200)
        // Between 200 and 400 kept: the oldest 200 were dropped when there were 400.
        #expect(recent.page(of: Self.channel, query: HistoryQuery(after: 199, limit: 10)) == nil)
        let kept = try WireJSON.decoder().decode(MessagePage.self, from: Data(try #require(recent.page(of: Self.channel, query: HistoryQuery(after: 200, limit: 10)))))
        #expect(kept == MessagePage(messages: Array(messages[200..<210]), hasMore: true))
        let newest = try WireJSON.decoder().decode(MessagePage.self, from: Data(try #require(recent.page(of: Self.channel, query: HistoryQuery(limit: 200)))))
        #expect(newest == MessagePage(messages: Array(messages[300..<500]), hasMore: true))

        let small = RecentMessages(perChannel: Limits.pageSize, budget: 4_000)
        let app = AppID.generate()
        let channels = (0..<20).map { _ in ChannelID.generate() }
        for channel in channels {
            let message = Message(id: .generate(), channelId: channel, seq: 1, sender: nil, text: String(repeating: "x", count: 200), data: nil, createdAt: Date())
            small.add([CommittedMessage(app: app, change: .created, message: message, members: [], hasPushRow: false)], writtenIn: small.generation())
        }
        #expect(small.page(of: channels[0], query: HistoryQuery()) == nil)
        #expect(small.page(of: channels[19], query: HistoryQuery()) != nil)
    }

    @Test("A batch committed before a forgetting adds nothing, so no window gets a hole")
    func staleBatchIsDropped() {
        let (recent, messages) = Self.recent(first: 1, count: 10)
        let before = recent.generation()
        recent.forgetAll()  // an erasure commits between the batch's commit and its addition
        let next = Message(id: .generate(), channelId: Self.channel, seq: 11, sender: nil, text: "late", data: nil, createdAt: Date())
        recent.add([CommittedMessage(app: .generate(), change: .created, message: next, members: [], hasPushRow: false)], writtenIn: before)

        // Without the generation's check, the late batch would start a window at 11 that pages after 10.
        #expect(recent.page(of: Self.channel, query: HistoryQuery(after: 10, limit: 5)) == nil)
        #expect(recent.page(of: Self.channel, query: HistoryQuery()) == nil)
        #expect(messages.count == 10)
    }
}
