import Foundation
import HeraldCore
import NIOCore
import Synchronization
import Testing

@testable import HeraldStore

/// `InboxStore.inboxPage`: the page as JSON, which the SQLite store keeps in memory (`InboxPages`). Every
/// change to the customer's inbox, and every expiry, must show on the next page exactly as a read of the
/// database would give it; a change to someone else's inbox must not cost this customer's kept page.
@Suite("Inbox pages as JSON")
struct InboxPageTests {
    private let ana = StoreFixture.ana
    private let ben = StoreFixture.ben

    /// Counts the pages rendered (a page answered from memory renders nothing) and remembers the last.
    private final class Renderer: Sendable {
        private let state = Mutex((count: 0, last: InboxPage(items: [], nextCursor: nil, unreadCount: 0)))
        var count: Int { state.withLock { $0.count } }

        func render(_ page: InboxPage) throws -> [UInt8] {
            state.withLock { $0 = ($0.count + 1, page) }
            return Array(try WireJSON.encoder().encode(page))
        }
    }

    /// The page Ana's app would get now, decoded, and whether it was rendered for this call.
    private func anaPage(_ store: any Store, app: AppID, renderer: Renderer, query: InboxQuery = InboxQuery()) async throws -> (page: InboxPage, rendered: Bool) {
        let before = renderer.count
        let json = try await store.inboxPage(of: ana, in: app, query: query) { try renderer.render($0) }
        return (try WireJSON.decoder().decode(InboxPage.self, from: Data(json.readableBytesView)), renderer.count > before)
    }

    /// A notification in the app and `user`'s item of it (one item per recipient and notification).
    private func newItem(
        for user: UserID, _ fixture: StoreFixture, app: AppID, title: String, createdAt: Date, expiresAt: Date? = nil
    ) async throws -> InboxItem {
        let notification = OutgoingNotification(
            id: .generate(), app: app, category: .transactional, source: .content(title: title, body: "b"), templateVersion: nil,
            audience: .users([user]), data: nil, actions: [NotificationAction(id: "pay", label: "Pay")], sendAt: nil, expiresAt: expiresAt,
            createdAt: createdAt, status: .sending)
        _ = try await fixture.store.createNotification(notification, idempotency: nil)
        return InboxItem(
            id: .generate(), notificationId: notification.id, recipient: user, category: .transactional, title: title, body: "b", data: nil,
            actions: notification.actions, createdAt: createdAt, expiresAt: expiresAt, jws: "signed")
    }

    @Test("Each change to the customer's inbox, and each expiry, shows on the next page; others' changes keep it", arguments: StoreBackend.allCases)
    func pagesFollowEveryChange(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await fixture.appWithAnaAndBen()
            let renderer = Renderer()
            var now = fixture.clock.now
            let old = try await newItem(for: ana, fixture, app: app, title: "old", createdAt: now.addingTimeInterval(-2))
            let expiring = try await newItem(for: ana, fixture, app: app, title: "expiring", createdAt: now.addingTimeInterval(-1), expiresAt: now.addingTimeInterval(60))
            try await store.insertInboxItems([old, expiring], app: app, now: now)
            let keeps = backend == .sqlite

            // The first page marks the items delivered (a change); the second is kept; the third is the second.
            #expect(try await anaPage(store, app: app, renderer: renderer).page.items.map(\.title) == ["expiring", "old"])
            let second = try await anaPage(store, app: app, renderer: renderer)
            let third = try await anaPage(store, app: app, renderer: renderer)
            #expect(third.page == second.page && second.page.unreadCount == 2)
            #expect(third.rendered == !keeps)

            // Ben's new item is not Ana's change.
            try await store.insertInboxItems([try await newItem(for: ben, fixture, app: app, title: "ben's", createdAt: now)], app: app, now: now)
            let afterBen = try await anaPage(store, app: app, renderer: renderer)
            #expect(afterBen.page == second.page && afterBen.rendered == !keeps)

            // Read, archived, acted on, new, released from quiet hours: each shows.
            _ = try await store.markInboxItemRead(old.id, of: ana, in: app)
            var page = try await anaPage(store, app: app, renderer: renderer).page
            #expect(page.unreadCount == 1 && page.items.last?.readAt == now)

            let acted = InboxItem.PerformedAction(actionId: "pay", input: nil, performedAt: now)
            _ = try await store.recordAction(acted, on: expiring.id, of: ana, in: app, effects: [])
            page = try await anaPage(store, app: app, renderer: renderer).page
            #expect(page.unreadCount == 0 && page.items.first?.performed == acted)

            _ = try await anaPage(store, app: app, renderer: renderer)
            try await store.insertInboxItems([try await newItem(for: ana, fixture, app: app, title: "unread", createdAt: now.addingTimeInterval(-3))], app: app, now: now)
            _ = try await anaPage(store, app: app, renderer: renderer)
            _ = try await anaPage(store, app: app, renderer: renderer)  // kept, with one unread
            #expect(try await store.markAllInboxItemsRead(of: ana, in: app, category: nil) == 1)
            page = try await anaPage(store, app: app, renderer: renderer).page
            #expect(page.unreadCount == 0 && page.items.allSatisfy { $0.readAt != nil })

            _ = try await store.archiveInboxItem(old.id, of: ana, in: app)
            #expect(try await anaPage(store, app: app, renderer: renderer).page.items.map(\.title) == ["expiring", "unread"])
            #expect(try await anaPage(store, app: app, renderer: renderer, query: InboxQuery(state: .archived)).page.items.map(\.title) == ["old"])

            let fresh = try await newItem(for: ana, fixture, app: app, title: "fresh", createdAt: now)
            let held = try await newItem(for: ana, fixture, app: app, title: "held", createdAt: now.addingTimeInterval(30))
            try await store.insertInboxItems([fresh, held], app: app, now: now)
            page = try await anaPage(store, app: app, renderer: renderer).page
            #expect(page.items.map(\.title) == ["fresh", "expiring", "unread"] && page.unreadCount == 1)
            _ = try await anaPage(store, app: app, renderer: renderer)  // kept now that it is delivered
            _ = try await store.releaseDueInboxItems(now: now.addingTimeInterval(31), limit: 10)
            #expect(try await anaPage(store, app: app, renderer: renderer).page.items.map(\.title) == ["held", "fresh", "expiring", "unread"])

            // Time alone: the item that expires leaves the page and the count, with no write at all.
            _ = try await anaPage(store, app: app, renderer: renderer)
            let kept = try await anaPage(store, app: app, renderer: renderer)
            #expect(kept.rendered == !keeps && kept.page.items.count == 4)
            fixture.clock.advance(by: 60)
            now = fixture.clock.now
            #expect(try await anaPage(store, app: app, renderer: renderer).page.items.map(\.title) == ["held", "fresh", "unread"])

            // Erased: nothing of hers is answered any more.
            _ = try await anaPage(store, app: app, renderer: renderer)
            #expect(try await store.eraseUser(ana, in: app))
            let afterErasure = try? await anaPage(store, app: app, renderer: renderer).page
            #expect(afterErasure?.items.isEmpty ?? true, "an erased customer's page is not answered")
        }
    }

    @Test("A signature recorded, or a row deleted by retention, shows on the next page", arguments: StoreBackend.allCases)
    func signaturesAndRetention(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await fixture.appWithAnaAndBen()
            let renderer = Renderer()
            let now = fixture.clock.now
            var shared = try await newItem(for: ana, fixture, app: app, title: "broadcast", createdAt: now)
            shared.jws = ""
            let content = InboxWrite.SharedContent(notification: shared.notificationId, locale: "", title: "broadcast", body: "b", data: nil, actions: shared.actions)
            try await store.writeInbox(InboxWrite(app: app, entries: [InboxWrite.Entry(item: shared, sharedLocale: "", push: false)], contents: [content]), now: now)

            _ = try await anaPage(store, app: app, renderer: renderer)
            #expect(try await anaPage(store, app: app, renderer: renderer).page.items.first?.jws == "", "signed by the server, not the store")
            let key = SigningKey.generate(createdAt: now)
            let payload = try #require(try await store.inbox(of: ana, in: app, query: InboxQuery()).items.first).signedPayload(app: app)
            try await store.recordInboxSignatures([InboxSignature(item: shared.id, kid: key.kid, signature: key.signature(for: payload))], app: app)
            let signed = try #require(try await anaPage(store, app: app, renderer: renderer).page.items.first)
            #expect(SignedPayload.verify(signed.jws, keys: JWKSet(keys: [key.publicJWK])) == payload)

            _ = try await anaPage(store, app: app, renderer: renderer)
            fixture.clock.advance(by: 3 * 86_400)
            _ = try await store.expireContent(of: app, createdBefore: fixture.clock.now, limit: 100)
            #expect(try await anaPage(store, app: app, renderer: renderer).page.items.isEmpty)
        }
    }

    @Test("Pages read while the customer's items change end on the page the database gives", arguments: StoreBackend.allCases)
    func readsRacingWrites(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await fixture.appWithAnaAndBen()
            let now = fixture.clock.now
            var items: [InboxItem] = []
            for index in 0..<20 { items.append(try await newItem(for: ana, fixture, app: app, title: "n\(index)", createdAt: now.addingTimeInterval(Double(-index)))) }
            try await store.insertInboxItems(items, app: app, now: now)
            let written = items
            let renderer = Renderer()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask { for _ in 0..<40 { _ = try await anaPage(store, app: app, renderer: renderer) } }
                }
                group.addTask { for item in written { _ = try await store.markInboxItemRead(item.id, of: ana, in: app) } }
                try await group.waitForAll()
            }
            let answered = try await anaPage(store, app: app, renderer: renderer).page
            #expect(answered == (try await store.inbox(of: ana, in: app, query: InboxQuery())))
            #expect(answered.unreadCount == 0 && answered.items.allSatisfy { $0.readAt != nil })
        }
    }

    // MARK: the cache's own rules

    private let app = AppID.generate()

    @Test("A read begun before the customer's change committed does not keep its page; one begun after does; others' changes do not matter")
    func racingReadIsNotKept() throws {
        let pages = InboxPages()
        let owner = AppUser(app: app, user: ana)
        let query = InboxQuery()
        let before = pages.generation(of: owner)
        pages.forget([owner])  // Ana's item changes while her page is read
        pages.keep(ByteBuffer(bytes: [1]), of: owner, query: query, validUntil: nil, readIn: before)
        #expect(pages.page(of: owner, query: query, now: 0) == nil)

        pages.keep(ByteBuffer(bytes: [2]), of: owner, query: query, validUntil: nil, readIn: pages.generation(of: owner))
        #expect(pages.page(of: owner, query: query, now: 0) == ByteBuffer(bytes: [2]))

        // Someone else's change (a customer of another generation slot) while Ana's page is read.
        let other = try #require((0..<100).lazy.map { AppUser(app: app, user: UserID(rawValue: "c\($0)")!) }
            .first { InboxPages.slot(of: $0) != InboxPages.slot(of: owner) })
        pages.forget([owner])
        let during = pages.generation(of: owner)
        pages.forget([other])
        pages.keep(ByteBuffer(bytes: [3]), of: owner, query: query, validUntil: nil, readIn: during)
        #expect(pages.page(of: owner, query: query, now: 0) == ByteBuffer(bytes: [3]))
        // Everything forgotten (a row that named no customer) stops every read under way.
        let beforeAll = pages.generation(of: owner)
        pages.forgetAll()
        pages.keep(ByteBuffer(bytes: [4]), of: owner, query: query, validUntil: nil, readIn: beforeAll)
        #expect(pages.page(of: owner, query: query, now: 0) == nil)
    }

    @Test("A page is answered only before its first expiry (then dropped), only for its own query, and only for first pages")
    func expiryAndQuery() {
        let pages = InboxPages()
        let owner = AppUser(app: app, user: ana)
        let first = InboxQuery()
        pages.keep(ByteBuffer(bytes: [1]), of: owner, query: first, validUntil: 1_000, readIn: pages.generation(of: owner))
        #expect(pages.page(of: owner, query: first, now: 999) == ByteBuffer(bytes: [1]))
        #expect(pages.page(of: owner, query: InboxQuery(state: .unread), now: 0) == nil)
        #expect(pages.page(of: owner, query: InboxQuery(limit: 10), now: 0) == nil)
        #expect(pages.page(of: AppUser(app: app, user: ben), query: first, now: 0) == nil)
        #expect(pages.page(of: owner, query: first, now: 1_000) == nil)
        #expect(pages.keptBytes == 0, "the expired page's opened content is not held")

        let after = InboxQuery(cursor: InboxQuery.Cursor(createdAt: 1, position: 1))
        pages.keep(ByteBuffer(bytes: [5]), of: owner, query: after, validUntil: nil, readIn: pages.generation(of: owner))
        #expect(pages.page(of: owner, query: after, now: 0) == nil && pages.keptBytes == 0)
    }

    @Test("Past its limit in bytes, or a customer's number of pages, the cache starts again rather than growing")
    func bounded() {
        let cost = 4 + InboxPages.overhead
        let pages = InboxPages(limit: 2 * cost + 1)
        let query = InboxQuery()
        let users = ["a", "b", "c"].map { AppUser(app: app, user: UserID(rawValue: $0)!) }
        for user in users { pages.keep(ByteBuffer(repeating: 0, count: 4), of: user, query: query, validUntil: nil, readIn: pages.generation(of: user)) }
        #expect(pages.page(of: users[2], query: query, now: 0) != nil && pages.page(of: users[0], query: query, now: 0) == nil)
        #expect(pages.keptBytes == cost)
        pages.keep(ByteBuffer(repeating: 0, count: 2 * cost), of: users[0], query: query, validUntil: nil, readIn: pages.generation(of: users[0]))
        #expect(pages.page(of: users[0], query: query, now: 0) == nil && pages.keptBytes == cost)

        // One customer's pages together past the limit: only the newest stays, the bound holds.
        let tight = InboxPages(limit: 2 * cost - 1)
        tight.keep(ByteBuffer(repeating: 0, count: 4), of: users[0], query: InboxQuery(), validUntil: nil, readIn: tight.generation(of: users[0]))
        tight.keep(ByteBuffer(repeating: 0, count: 4), of: users[0], query: InboxQuery(limit: 10), validUntil: nil, readIn: tight.generation(of: users[0]))
        #expect(tight.keptBytes == cost && tight.page(of: users[0], query: InboxQuery(limit: 10), now: 0) != nil)

        let many = InboxPages()
        let queries = (1...InboxPages.perCustomer + 1).map { InboxQuery(limit: $0) }
        for query in queries { many.keep(ByteBuffer(bytes: [1]), of: users[0], query: query, validUntil: nil, readIn: many.generation(of: users[0])) }
        #expect(many.page(of: users[0], query: queries.last!, now: 0) == ByteBuffer(bytes: [1]) && many.page(of: users[0], query: queries[0], now: 0) == nil)
        #expect(many.keptBytes == 1 + InboxPages.overhead)
    }
}
