import Foundation
import HeraldCore
@testable import HeraldServer
import HeraldStore
import Testing

@Suite("The inbox")
struct InboxRoutesTests {
    struct ReadAll: Decodable, Equatable {
        var updated: Int
        var unreadCount: Int
    }

    @Test("Newest first, paged by cursor, filtered by category and state, with an exact unread count")
    func listing() async throws {
        let clock = TestClock("2026-11-25T09:00:00Z")
        try await TestHarness.with(clock: clock) { harness in
            var items: [InboxItemID] = []
            for index in 0..<5 {
                clock.advance(by: 1)
                items.append(try await harness.seedInboxItem(for: "ana", title: "n\(index)").1)
            }
            let ana = try await harness.token(for: "ana")
            try await harness.run { [items] client in
                let first = try await client.inbox(ana, query: "?limit=2")
                let second = try await client.inbox(ana, query: "?limit=2&cursor=\(try #require(first.nextCursor))")
                let third = try await client.inbox(ana, query: "?limit=2&cursor=\(try #require(second.nextCursor))")
                _ = try await client.request(.post, "/v1/me/inbox/\(items[4])/read", auth: ana)
                _ = try await client.request(.post, "/v1/me/inbox/\(items[3])/archive", auth: ana)
                let unread = try await client.inbox(ana, query: "?state=unread")
                let read = try await client.inbox(ana, query: "?state=read")
                let archived = try await client.inbox(ana, query: "?state=archived")
                let marketing = try await client.inbox(ana, query: "?category=marketing")
                let bad = try await client.request(.get, "/v1/me/inbox?limit=0&state=new&cursor=!", auth: ana)

                #expect(first.items.map(\.title) == ["n4", "n3"] && second.items.map(\.title) == ["n2", "n1"] && third.items.map(\.title) == ["n0"])
                #expect(third.nextCursor == nil && first.unreadCount == 5)
                #expect(unread.items.map(\.title) == ["n2", "n1", "n0"] && unread.unreadCount == 3)
                #expect(read.items.map(\.title) == ["n4"] && archived.items.map(\.title) == ["n3"])
                #expect(marketing.items.isEmpty)
                #expect(bad.status == .unprocessableContent && bad.problem?.errors?.map(\.field).sorted() == ["cursor", "limit", "state"])
            }
        }
    }

    @Test("Read keeps the first read time; read-all by category; another user's item is 404")
    func readAndReadAll() async throws {
        try await TestHarness.with { harness in
            let (_, item) = try await harness.seedInboxItem(for: "ana")
            _ = try await harness.seedInboxItem(for: "ana")
            let (ana, ben) = (try await harness.token(for: "ana"), try await harness.token(for: "ben"))
            try await harness.run { client in
                let once = try await client.request(.post, "/v1/me/inbox/\(item)/read", auth: ana).decode(InboxItem.self)
                let twice = try await client.request(.post, "/v1/me/inbox/\(item)/read", auth: ana).decode(InboxItem.self)
                let stranger = try await client.request(.get, "/v1/me/inbox/\(item)", auth: ben)
                let none = try await client.request(.post, "/v1/me/inbox/read-all", auth: ana, body: #"{"category":"marketing"}"#).decode(ReadAll.self)
                let all = try await client.request(.post, "/v1/me/inbox/read-all", auth: ana).decode(ReadAll.self)

                #expect(once.readAt != nil && twice.readAt == once.readAt)
                #expect(stranger.status == .notFound)
                #expect(none == ReadAll(updated: 0, unreadCount: 1))
                #expect(all == ReadAll(updated: 1, unreadCount: 0))
            }
        }
    }

    @Test("Counts stay exact when many reads race")
    func concurrentReads() async throws {
        // 40 reads of one customer at once: above the per-customer limit, which is not what this tests.
        try await TestHarness.with(durability: .normal, configure: { $0.userConcurrency = 64 }) { harness in
            let users = (0..<40).map { _ in harness.user("ana") }
            let new = NewNotification(audience: .users([harness.user("ana")]), category: .transactional, source: .content(title: "t", body: "b"))
            var items: [InboxItemID] = []
            for _ in users {
                let (report, _) = try await harness.parts.notifications.send(new, app: harness.app, idempotency: nil)
                items += try await harness.store.inbox(of: harness.user("ana"), in: harness.app, query: InboxQuery(limit: 200)).items
                    .filter { $0.notificationId == report.id }.map(\.id)
            }
            let ana = try await harness.token(for: "ana")
            try await harness.run { [items] client in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for item in items.prefix(30) {
                        group.addTask { _ = try await client.request(.post, "/v1/me/inbox/\(item)/read", auth: ana) }
                        group.addTask { _ = try await client.request(.post, "/v1/me/inbox/\(item)/read", auth: ana) }
                    }
                    try await group.waitForAll()
                }

                let page = try await client.inbox(ana, query: "?limit=200")
                #expect(page.unreadCount == 10)
                #expect(page.items.filter { $0.readAt == nil }.count == 10)
            }
        }
    }

    @Test("An expired item leaves the inbox and answers 410")
    func expiry() async throws {
        let clock = TestClock("2026-11-25T09:00:00Z")
        try await TestHarness.with(clock: clock) { harness in
            let ana = try await harness.token(for: "ana", ttlSeconds: 86_400)
            try await harness.run { client in
                _ = try await client.request(
                    .post, "/v1/notifications", auth: harness.apiKey,
                    body: #"{"recipients":["ana"],"category":"security","content":{"title":"Approve payment","body":"Pay 50 EUR"},"expiresAt":"2026-11-25T09:10:00Z"}"#)
                let item = try #require(try await client.inbox(ana).items.first)

                clock.advance(by: 600)
                let page = try await client.inbox(ana)
                let fetched = try await client.request(.get, "/v1/me/inbox/\(item.id)", auth: ana)

                #expect(item.expiresAt == WireTime.parse("2026-11-25T09:10:00Z"))
                #expect(page.items.isEmpty && page.unreadCount == 0)
                #expect(fetched.status == .gone)
            }
        }
    }
}
