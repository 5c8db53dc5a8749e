import Foundation
import HeraldCore
import HeraldStore
import Testing

/// The notification side of every `Store` backend: notifications and their claims, inboxes, actions and
/// the outbox. Each test runs once per `StoreBackend`.
@Suite("Store conformance: notifications, inbox and outbox")
struct NotificationStoreConformanceTests {
    private let ana = StoreFixture.ana
    private let ben = StoreFixture.ben

    private func notification(_ app: AppID, at time: Date, sendAt: Date? = nil, status: OutgoingNotification.Status = .sending) -> OutgoingNotification {
        OutgoingNotification(
            id: .generate(), app: app, category: .transactional, source: .content(title: "Payment", body: "Due"), templateVersion: nil,
            audience: .users([ana, ben]), data: ["amount": .number(12)], actions: nil, sendAt: sendAt, expiresAt: nil, createdAt: time, status: status)
    }

    /// A new app and a notification stored in it, at the fixture's time.
    private func sentNotification(_ fixture: StoreFixture) async throws -> (app: AppID, notification: OutgoingNotification, now: Date) {
        let app = try await fixture.appWithAnaAndBen()
        let sent = notification(app, at: fixture.clock.now)
        _ = try await fixture.store.createNotification(sent, idempotency: nil)
        return (app, sent, fixture.clock.now)
    }

    private func item(for user: UserID, of notification: OutgoingNotification, createdAt: Date, title: String = "Payment") -> InboxItem {
        InboxItem(
            id: .generate(), notificationId: notification.id, recipient: user, category: notification.category, title: title, body: "Due",
            data: nil, actions: [NotificationAction(id: "pay", label: "Pay")], createdAt: createdAt, expiresAt: nil, jws: "signed")
    }

    @Test("A notification round-trips; its idempotency key replays it and refuses another body", arguments: StoreBackend.allCases)
    func notifications(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await fixture.appWithAnaAndBen()
            let first = notification(app, at: fixture.clock.now)
            let key = IdempotencyKey(scope: "notifications", key: ClientMessageID(rawValue: "n1")!, request: Data([1]), user: nil, requiresSameRequest: true)

            let created = try await store.createNotification(first, idempotency: key)
            let replay = try await store.createNotification(notification(app, at: fixture.clock.now), idempotency: key)
            let other = IdempotencyKey(scope: "notifications", key: ClientMessageID(rawValue: "n1")!, request: Data([2]), user: nil, requiresSameRequest: true)

            #expect(!created.isReplay)
            #expect(replay.isReplay && replay.notification.id == first.id)
            await #expect(throws: HeraldError.self) { _ = try await store.createNotification(notification(app, at: fixture.clock.now), idempotency: other) }
            #expect(try await store.notification(first.id, in: app) == first)
            #expect(try await store.notification(first.id, in: try await store.createApp(name: "Other").app.id) == nil)
        }
    }

    @Test("Due notifications are claimed once per lease; a lapsed lease is claimed again", arguments: StoreBackend.allCases)
    func claims(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await fixture.appWithAnaAndBen()
            let now = fixture.clock.now
            let scheduled = notification(app, at: now, sendAt: now.addingTimeInterval(60), status: .scheduled)
            _ = try await store.createNotification(scheduled, idempotency: nil)

            #expect(try await store.claimDueNotifications(now: now, lease: 30, limit: 10).isEmpty, "not due yet")
            let later = now.addingTimeInterval(61)
            let claimed = try await store.claimDueNotifications(now: later, lease: 30, limit: 10)
            #expect(claimed.map(\.id) == [scheduled.id])
            #expect(claimed.first?.status == .sending)
            #expect(try await store.claimDueNotifications(now: later.addingTimeInterval(10), lease: 30, limit: 10).isEmpty, "leased")
            #expect(try await store.claimDueNotifications(now: later.addingTimeInterval(31), lease: 30, limit: 10).map(\.id) == [scheduled.id], "lapsed")

            try await store.completeNotification(scheduled.id, audienceSize: 2, effects: [])
            #expect(try await store.claimDueNotifications(now: later.addingTimeInterval(120), lease: 30, limit: 10).isEmpty, "sent")
            #expect(try await store.notificationReport(scheduled.id, in: app)?.status == .sent)
        }
    }

    @Test("Inbox items: held until released, paged newest first, read, archived, counted, each once per recipient", arguments: StoreBackend.allCases)
    func inbox(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let (app, sent, now) = try await sentNotification(fixture)
            let held = item(for: ben, of: sent, createdAt: now.addingTimeInterval(3600))
            // Ana's three come from three notifications (a recipient has one item per notification).
            var distinct: [InboxItem] = []
            for index in 0..<3 {
                var source = sent
                if index > 0 {
                    source = notification(app, at: now)
                    _ = try await store.createNotification(source, idempotency: nil)
                }
                distinct.append(item(for: ana, of: source, createdAt: now.addingTimeInterval(Double(-index)), title: "n\(index)"))
            }
            try await store.insertInboxItems(distinct + [held], app: app, now: now)
            try await store.insertInboxItems([item(for: ana, of: sent, createdAt: now)], app: app, now: now)

            let page = try await store.inbox(of: ana, in: app, query: InboxQuery(limit: 2))
            #expect(page.items.map(\.title) == ["n0", "n1"])
            #expect(page.unreadCount == 3)
            let cursor = try #require(page.nextCursor.flatMap(InboxQuery.Cursor.init(token:)))
            let rest = try await store.inbox(of: ana, in: app, query: InboxQuery(cursor: cursor, limit: 2))
            #expect(rest.items.map(\.title) == ["n2"])
            #expect(rest.nextCursor == nil)
            #expect(try await store.inbox(of: ben, in: app, query: InboxQuery()).items.isEmpty, "held")

            let read = try await store.markInboxItemRead(distinct[0].id, of: ana, in: app)
            #expect(read.readAt == now)
            #expect(try await store.unreadInboxCount(of: ana, in: app) == 2)
            _ = try await store.archiveInboxItem(distinct[1].id, of: ana, in: app)
            #expect(try await store.inbox(of: ana, in: app, query: InboxQuery(state: .archived)).items.map(\.id) == [distinct[1].id])
            #expect(try await store.markAllInboxItemsRead(of: ana, in: app, category: nil) == 2)
            #expect(try await store.unreadInboxCount(of: ana, in: app) == 0)
            await #expect(throws: HeraldError.self) { _ = try await store.markInboxItemRead(held.id, of: ana, in: app) }

            let released = try await store.releaseDueInboxItems(now: now.addingTimeInterval(3601), limit: 10)
            #expect(released.map(\.item.id) == [held.id])
            #expect(try await store.releaseDueInboxItems(now: now.addingTimeInterval(3602), limit: 10).isEmpty)
            let report = try #require(try await store.notificationReport(sent.id, in: app))
            #expect(report.recipients == 2 && report.read == 1)
        }
    }

    @Test("A push row only for a recipient with a device: dropped once delivered; queued later for one who missed the live frame", arguments: StoreBackend.allCases)
    func inboxPushes(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let (app, sent, now) = try await sentNotification(fixture)
            _ = try await store.registerDevice(NewDevice(platform: .apns, token: "ben-phone"), for: ben, in: app)
            let forAna = item(for: ana, of: sent, createdAt: now)
            let forBen = item(for: ben, of: sent, createdAt: now)
            try await store.insertInboxItems([forAna, forBen], app: app, now: now)
            let due = now.addingTimeInterval(OutboxKind.pushGrace + 1)

            let jobs = try await store.claimOutbox(kinds: [OutboxKind.push], now: due, lease: 30, limit: 10)
            #expect(jobs.map(\.subject) == [forBen.id.rawValue], "Ana has no device to wake")
            #expect(jobs.first?.user == ben)
            try await store.markDelivered([forBen.id], app: app)
            #expect(try await store.claimOutbox(kinds: [OutboxKind.push], now: due.addingTimeInterval(60), lease: 30, limit: 10).isEmpty)

            // Written without a push (Ben was connected), but the frame never reached him: one is queued,
            // unless the item was delivered meanwhile.
            let other = notification(app, at: now)
            _ = try await store.createNotification(other, idempotency: nil)
            let missed = item(for: ben, of: other, createdAt: now)
            try await store.writeInbox(InboxWrite(app: app, entries: [InboxWrite.Entry(item: missed, sharedLocale: nil, push: false)]), now: now)
            #expect(try await store.claimOutbox(kinds: [OutboxKind.push], now: due.addingTimeInterval(120), lease: 30, limit: 10).isEmpty)
            try await store.queuePushes(for: [missed], app: app, now: now)
            #expect(try await store.claimOutbox(kinds: [OutboxKind.push], now: due.addingTimeInterval(180), lease: 30, limit: 10).map(\.subject) == [missed.id.rawValue])

            // Delivered meanwhile (another of Ben's connections took it): no push is queued.
            let third = notification(app, at: now)
            _ = try await store.createNotification(third, idempotency: nil)
            let reached = item(for: ben, of: third, createdAt: now)
            try await store.writeInbox(InboxWrite(app: app, entries: [InboxWrite.Entry(item: reached, sharedLocale: nil, push: false)]), now: now)
            try await store.markDelivered([reached.id], app: app)
            try await store.queuePushes(for: [reached], app: app, now: now)
            let later = try await store.claimOutbox(kinds: [OutboxKind.push], now: due.addingTimeInterval(300), lease: 30, limit: 10)
            #expect(!later.map(\.subject).contains(reached.id.rawValue), "\(later.map(\.subject))")
        }
    }

    @Test("A category's fallback policy: one row per item written and channel, due its delay after the item, none for an item skipped; one claim per item and channel", arguments: StoreBackend.allCases)
    func fallbackPolicyRows(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let (app, sent, now) = try await sentNotification(fixture)
            let forAna = item(for: ana, of: sent, createdAt: now)
            let fallbacks = [InboxWrite.Fallback(channel: "sms", after: 600), InboxWrite.Fallback(channel: "email", after: 3_600)]
            let written = try await store.writeInbox(
                InboxWrite(app: app, entries: [InboxWrite.Entry(item: forAna, sharedLocale: nil, push: false)], fallbacks: fallbacks), now: now)
            #expect(written == [forAna.id])
            // Ana has an item of this notification already: the repeat writes nothing, and no fallback.
            let again = try await store.writeInbox(
                InboxWrite(app: app, entries: [InboxWrite.Entry(item: item(for: ana, of: sent, createdAt: now), sharedLocale: nil, push: false)], fallbacks: fallbacks),
                now: now)
            #expect(again.isEmpty)
            let kinds: [OutboxKind] = [.fallbackPolicy]
            #expect(try await store.claimOutbox(kinds: kinds, now: now.addingTimeInterval(599), lease: 30, limit: 10).isEmpty)
            let sms = try await store.claimOutbox(kinds: kinds, now: now.addingTimeInterval(600), lease: 30, limit: 10)
            #expect(sms.map(\.payload) == ["sms"] && sms.map(\.subject) == [forAna.id.rawValue] && sms.map(\.user) == [ana])
            for job in sms { try await store.completeOutbox(job.id) }
            let email = try await store.claimOutbox(kinds: kinds, now: now.addingTimeInterval(3_600), lease: 30, limit: 10)
            #expect(email.map(\.payload) == ["email"])

            // One fallback per item and channel: the first row to claim it holds it, on every later attempt too.
            let first = try #require(sms.first?.id)
            #expect(try await store.claimFallback(for: forAna.id, of: ana, channel: .sms, job: first, in: app))
            #expect(try await store.claimFallback(for: forAna.id, of: ana, channel: .sms, job: first, in: app), "a retry of the same row")
            #expect(try await !store.claimFallback(for: forAna.id, of: ana, channel: .sms, job: first + 1_000, in: app), "another row for the same item")
            #expect(try await store.claimFallback(for: forAna.id, of: ana, channel: .email, job: first + 1_000, in: app), "another channel")
        }
    }

    @Test("Shared content: stored once, read through each reference, signed once on first read; progress is kept with the write", arguments: StoreBackend.allCases)
    func sharedContent(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let (app, sent, now) = try await sentNotification(fixture)
            let content = InboxWrite.SharedContent(
                notification: sent.id, locale: "de", title: "Neue Zinsen", body: "Ab Januar", data: ["ref": .string("R-1")],
                actions: [NotificationAction(id: "ok", label: "OK")])
            var forAna = item(for: ana, of: sent, createdAt: now)
            var forBen = item(for: ben, of: sent, createdAt: now)
            forAna.jws = ""
            forBen.jws = ""
            let progress = InboxWrite.Progress(notification: sent.id, after: ben, seen: 3, leaseUntil: now.addingTimeInterval(300))
            try await store.writeInbox(
                InboxWrite(
                    app: app, entries: [forAna, forBen].map { InboxWrite.Entry(item: $0, sharedLocale: "de", push: true) }, contents: [content],
                    progress: progress), now: now)
            // A repeat (a resumed page) writes nothing twice.
            try await store.writeInbox(
                InboxWrite(app: app, entries: [InboxWrite.Entry(item: item(for: ana, of: sent, createdAt: now), sharedLocale: "de", push: true)], contents: [content]),
                now: now)

            let progressAfter = try await store.fanOutProgress(of: sent.id)
            #expect(progressAfter.after == ben && progressAfter.seen == 3)
            let page = try await store.inbox(of: ana, in: app, query: InboxQuery())
            #expect(page.items.map(\.id) == [forAna.id])
            let read = try #require(page.items.first)
            #expect(read.title == "Neue Zinsen" && read.body == "Ab Januar" && read.data == ["ref": .string("R-1")] && read.actions?.map(\.id) == ["ok"])
            #expect(read.jws.isEmpty, "signed on first read, by the server")

            let key = SigningKey.generate(createdAt: now)
            let payload = read.signedPayload(app: app)
            try await store.recordInboxSignatures([InboxSignature(item: read.id, kid: key.kid, signature: key.signature(for: payload))], app: app)
            let signed = try #require(try await store.inboxItem(read.id, of: ana, in: app))
            #expect(SignedPayload.verify(signed.jws, keys: JWKSet(keys: [key.publicJWK])) == payload)
            // A second signature (another node signed it too) does not replace the first.
            let other = SigningKey.generate(createdAt: now)
            try await store.recordInboxSignatures([InboxSignature(item: read.id, kid: other.kid, signature: other.signature(for: payload))], app: app)
            #expect(try await store.inboxItem(read.id, of: ana, in: app)?.jws == signed.jws)
            #expect(try await store.notificationReport(sent.id, in: app)?.recipients == 2)
        }
    }

    @Test("A reference moved to another customer, or pointed at other content, by someone who can write the database is refused, never shown", arguments: StoreBackend.allCases)
    func tamperedReference(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let (app, sent, now) = try await sentNotification(fixture)
            let content = InboxWrite.SharedContent(notification: sent.id, locale: "", title: "Rates", body: "New", data: nil, actions: nil)
            let forAna = item(for: ana, of: sent, createdAt: now)
            try await store.writeInbox(InboxWrite(app: app, entries: [InboxWrite.Entry(item: forAna, sharedLocale: "", push: false)], contents: [content]), now: now)
            #expect(try await store.inboxItem(forAna.id, of: ana, in: app)?.title == "Rates")

            try await fixture.writeDatabase("UPDATE inboxItem SET userID = 'ben' WHERE id = '\(forAna.id.rawValue)'")
            await #expect(throws: StoreCorruption.self) { _ = try await store.inbox(of: ben, in: app, query: InboxQuery()) }
            await #expect(throws: StoreCorruption.self) { _ = try await store.inboxItem(forAna.id, of: ben, in: app) }
            // Pointed at another broadcast's content, which exists and opens: the binding still refuses it.
            let other = notification(app, at: now)
            _ = try await store.createNotification(other, idempotency: nil)
            let otherContent = InboxWrite.SharedContent(notification: other.id, locale: "", title: "Call us now", body: "+1 555 0100", data: nil, actions: nil)
            try await store.writeInbox(
                InboxWrite(app: app, entries: [InboxWrite.Entry(item: item(for: ben, of: other, createdAt: now), sharedLocale: "", push: false)], contents: [otherContent]),
                now: now)
            try await fixture.writeDatabase("UPDATE inboxItem SET userID = 'ana', notificationID = '\(other.id.rawValue)' WHERE id = '\(forAna.id.rawValue)'")
            await #expect(throws: StoreCorruption.self) { _ = try await store.inboxItem(forAna.id, of: ana, in: app) }
            try await fixture.writeDatabase("UPDATE inboxItem SET notificationID = '\(sent.id.rawValue)', category = 'marketing' WHERE id = '\(forAna.id.rawValue)'")
            await #expect(throws: StoreCorruption.self) { _ = try await store.inboxItem(forAna.id, of: ana, in: app) }
            try await fixture.writeDatabase("UPDATE inboxItem SET category = '\(sent.category.rawValue)' WHERE id = '\(forAna.id.rawValue)'")
            #expect(try await store.inboxItem(forAna.id, of: ana, in: app)?.title == "Rates", "put back as it was, it reads again")
        }
    }

    @Test("The audience pages in id order from a cursor, with several tags, the last page marked, each user once", arguments: StoreBackend.allCases)
    func audiencePaging(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await store.createApp(name: "Acme").app.id
            // Upper and lower case: byte order ("Zoe" before "amy") whatever the database's collation.
            let names = ["amy", "Zoe", "bob", "Cid", "dan", "eve", "fay"]
            for name in names {
                let gold = name != "dan"
                _ = try await store.putUser(
                    UserID(rawValue: name)!, profile: UserProfile(metadata: ["tier": .string(gold ? "gold" : "silver"), "country": .string("PT")]), in: app)
            }
            let segment = OutgoingNotification(
                id: .generate(), app: app, category: .transactional, source: .content(title: "T", body: "B"), templateVersion: nil,
                audience: .segment(Segment(metadata: ["tier": .string("gold"), "country": .string("PT")])), data: nil, actions: nil, sendAt: nil,
                expiresAt: nil, createdAt: fixture.clock.now, status: .sending)
            var pages: [[String]] = []
            var after: UserID?
            var finals: [Bool] = []
            repeat {
                let page = try await store.audience(of: segment, after: after, limit: 2)
                pages.append(page.recipients.map(\.id.rawValue))
                finals.append(page.isFinal)
                after = page.last ?? after
            } while finals.last == false && pages.count < 10
            #expect(pages == [["Cid", "Zoe"], ["amy", "bob"], ["eve", "fay"], []], "dan is silver")
            #expect(finals == [false, false, false, true], "a full last page is not known to be the last")

            let listed = OutgoingNotification(
                id: .generate(), app: app, category: .transactional, source: .content(title: "T", body: "B"), templateVersion: nil,
                audience: .users(["fay", "amy", "Zoe", "amy", "gone"].map { UserID(rawValue: $0)! }), data: nil, actions: nil, sendAt: nil,
                expiresAt: nil, createdAt: fixture.clock.now, status: .sending)
            let first = try await store.audience(of: listed, after: nil, limit: 3)
            let second = try await store.audience(of: listed, after: first.last, limit: 3)
            #expect(Set(first.recipients.map(\.id.rawValue)) == ["Zoe", "amy", "fay"] && first.seen == 3 && !first.isFinal)
            #expect(second.recipients.isEmpty && second.seen == 1 && second.isFinal, "a listed user who does not exist counts, and gets nothing")
        }
    }

    @Test("A broadcast's content outlives an erased reader while others still hold it, and goes with its last item", arguments: StoreBackend.allCases)
    func sharedContentLifetime(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let (app, sent, now) = try await sentNotification(fixture)
            let content = InboxWrite.SharedContent(notification: sent.id, locale: "", title: "Rates", body: "New", data: nil, actions: nil)
            let (forAna, forBen) = (item(for: ana, of: sent, createdAt: now), item(for: ben, of: sent, createdAt: now))
            try await store.writeInbox(
                InboxWrite(app: app, entries: [forAna, forBen].map { InboxWrite.Entry(item: $0, sharedLocale: "", push: false) }, contents: [content]), now: now)
            try await store.completeNotification(sent.id, audienceSize: 2, effects: [])

            // A broadcast still sending keeps its content though its only reader so far is erased: the pages
            // to come reference it.
            let sending = notification(app, at: now)
            _ = try await store.createNotification(sending, idempotency: nil)
            let sendingContent = InboxWrite.SharedContent(notification: sending.id, locale: "", title: "Outage", body: "Cards work again at 9", data: nil, actions: nil)
            try await store.writeInbox(
                InboxWrite(app: app, entries: [InboxWrite.Entry(item: item(for: ana, of: sending, createdAt: now), sharedLocale: "", push: false)], contents: [sendingContent]),
                now: now)

            #expect(try await store.eraseUser(ana, in: app))
            #expect(try await store.inboxItem(forBen.id, of: ben, in: app)?.title == "Rates", "Ben's copy still reads")
            let nextPage = item(for: ben, of: sending, createdAt: now)
            try await store.writeInbox(InboxWrite(app: app, entries: [InboxWrite.Entry(item: nextPage, sharedLocale: "", push: false)]), now: now)
            #expect(try await store.inboxItem(nextPage.id, of: ben, in: app)?.title == "Outage", "the fan-out's next page still finds its content")
            // Retention removes Ben's item, the last one: the content goes too. A reference written afterwards
            // (by a fresh process, with nothing in memory) finds no content to show.
            _ = try await store.expireContent(of: app, createdBefore: now.addingTimeInterval(1), limit: 100)
            try await fixture.restart()
            let late = item(for: ben, of: sent, createdAt: now)
            try await fixture.store.writeInbox(InboxWrite(app: app, entries: [InboxWrite.Entry(item: late, sharedLocale: "", push: false)]), now: now)
            await #expect(throws: StoreCorruption.self) { _ = try await fixture.store.inboxItem(late.id, of: ben, in: app) }
        }
    }

    @Test("Outbox rows: sealed payloads come back clear, a claim leases, a retry counts, completion removes", arguments: StoreBackend.allCases)
    func outbox(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await fixture.appWithAnaAndBen()
            let now = fixture.clock.now
            try await store.enqueue(
                [
                    OutboxEntry(kind: OutboxKind.webhook, user: ana, subject: "evt_1", payload: #"{"secret":"4242"}"#, availableAt: now),
                    OutboxEntry(kind: OutboxKind.webhook, user: nil, subject: "evt_2", payload: "{}", availableAt: now.addingTimeInterval(60)),
                ], app: app)

            let claimed = try await store.claimOutbox(kinds: [OutboxKind.webhook], now: now, lease: 30, limit: 10)
            #expect(claimed.map(\.payload) == [#"{"secret":"4242"}"#])
            #expect(claimed.first?.attempts == 0 && claimed.first?.user == ana && claimed.first?.app == app)
            #expect(try await store.claimOutbox(kinds: [OutboxKind.webhook], now: now.addingTimeInterval(10), lease: 30, limit: 10).isEmpty)

            let job = try #require(claimed.first)
            try await store.retryOutbox(job.id, at: now.addingTimeInterval(20), error: "503")
            let again = try await store.claimOutbox(kinds: [OutboxKind.webhook], now: now.addingTimeInterval(20), lease: 30, limit: 10)
            #expect(again.map(\.id) == [job.id])
            #expect(again.first?.attempts == 1)
            try await store.completeOutbox(job.id)
            let last = try await store.claimOutbox(kinds: [OutboxKind.webhook], now: now.addingTimeInterval(600), lease: 30, limit: 10)
            #expect(last.map(\.subject) == ["evt_2"])
            try await store.completeOutbox(last.map(\.id))
            #expect(try await store.claimOutbox(kinds: [OutboxKind.webhook], now: now.addingTimeInterval(6000), lease: 30, limit: 10).isEmpty)
        }
    }

    @Test("Concurrent claims never hand one row to two claimers", arguments: StoreBackend.allCases)
    func concurrentClaims(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await fixture.appWithAnaAndBen()
            let now = fixture.clock.now
            try await store.enqueue((0..<60).map { OutboxEntry(kind: .webhook, user: nil, subject: "s\($0)", payload: "{}", availableAt: now) }, app: app)
            let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for _ in 0..<6 { group.addTask { try await store.claimOutbox(kinds: [.webhook], now: now, lease: 30, limit: 15).map(\.id) } }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(claimed.count == 60)
            #expect(Set(claimed).count == 60)
        }
    }

    @Test("An action is recorded once with its effects; a challenge works once", arguments: StoreBackend.allCases)
    func actions(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let (app, sent, now) = try await sentNotification(fixture)
            let target = item(for: ana, of: sent, createdAt: now)
            try await store.insertInboxItems([target], app: app, now: now)

            try await store.createChallenge("ch1", item: target.id, action: "pay", user: ana, app: app, expiresAt: now.addingTimeInterval(60))
            #expect(try await store.consumeChallenge("ch1", item: target.id, action: "other", user: ana, app: app) == .unknown)
            #expect(try await store.consumeChallenge("ch1", item: target.id, action: "pay", user: ana, app: app) == .used, "the wrong try spent it")
            try await store.createChallenge("ch2", item: target.id, action: "pay", user: ana, app: app, expiresAt: now.addingTimeInterval(60))
            #expect(try await store.consumeChallenge("ch2", item: target.id, action: "pay", user: ana, app: app) == .valid)
            try await store.createChallenge("ch3", item: target.id, action: "pay", user: ana, app: app, expiresAt: now)
            #expect(try await store.consumeChallenge("ch3", item: target.id, action: "pay", user: ana, app: app) == .expired)
            #expect(try await store.consumeChallenge("nope", item: target.id, action: "pay", user: ana, app: app) == .unknown)

            let performed = InboxItem.PerformedAction(actionId: "pay", input: .object(["iban": .string("DE00")]), performedAt: now)
            let effect = OutboxEntry(kind: OutboxKind.followUp, user: ana, subject: target.id.rawValue, payload: #"{"x":1}"#, availableAt: now)
            let first = try await store.recordAction(performed, on: target.id, of: ana, in: app, effects: [effect])
            let second = try await store.recordAction(
                InboxItem.PerformedAction(actionId: "decline", input: nil, performedAt: now), on: target.id, of: ana, in: app, effects: [effect])
            #expect(first.isFirst && !second.isFirst)
            #expect(second.item.performed == performed)
            #expect(second.item.readAt == now)
            #expect(try await store.claimOutbox(kinds: [OutboxKind.followUp], now: now, lease: 30, limit: 10).map(\.payload) == [#"{"x":1}"#])
        }
    }

    @Test("A challenge presented many times at once is valid for exactly one of them", arguments: StoreBackend.allCases)
    func concurrentChallenge(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let (app, sent, now) = try await sentNotification(fixture)
            let target = item(for: ana, of: sent, createdAt: now)
            try await store.insertInboxItems([target], app: app, now: now)
            for round in 0..<5 {
                try await store.createChallenge("race\(round)", item: target.id, action: "pay", user: ana, app: app, expiresAt: now.addingTimeInterval(60))

                let outcomes = try await withThrowingTaskGroup(of: ChallengeOutcome.self) { group in
                    for _ in 0..<16 { group.addTask { try await store.consumeChallenge("race\(round)", item: target.id, action: "pay", user: self.ana, app: app) } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }

                #expect(outcomes.filter { $0 == .valid }.count == 1 && outcomes.filter { $0 == .used }.count == 15, "\(outcomes)")
            }
        }
    }

    @Test("A message's push row is settled: removed when nobody is offline, due at once with the offline recipients", arguments: StoreBackend.allCases)
    func messagePushes(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await fixture.appWithAnaAndBen()
            _ = try await store.registerDevice(NewDevice(platform: .apns, token: "ben-phone"), for: ben, in: app)
            let channel = try await store.createChannel(NewChannel(type: .group, members: [ana, ben], name: "team"), in: app).channel
            let online = try await store.append(AppendRequest(app: app, channel: channel.id, sender: ana, content: MessageContent(text: "one"))).message
            let offline = try await store.append(AppendRequest(app: app, channel: channel.id, sender: ana, content: MessageContent(text: "two"))).message
            try await store.settleMessagePushes([(online.id, []), (offline.id, [ben])])

            let jobs = try await store.claimOutbox(kinds: [OutboxKind.messagePush], now: fixture.clock.now, lease: 30, limit: 10)
            #expect(jobs.map(\.subject) == [offline.id.rawValue])
            let payload = try JSONDecoder().decode(JSONValue.self, from: Data(try #require(jobs.first).payload.utf8))
            #expect(payload == .object(["channelId": .string(channel.id.rawValue), "sender": .string("ana"), "recipients": .array([.string("ben")])]))
        }
    }

    @Test(
        "A message writes a push row only when a member other than the sender has a device: none for a chat nobody can be woken in",
        arguments: StoreBackend.allCases)
    func noPushRowWithoutDevices(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await fixture.appWithAnaAndBen()
            // Ana (the sender) has a device; Ben, the only other member, has none here (his id has one
            // in another app, which is another customer).
            _ = try await store.registerDevice(NewDevice(platform: .apns, token: "ana-phone"), for: ana, in: app)
            let otherApp = try await store.createApp(name: "Other").app.id
            _ = try await store.putUser(ben, profile: UserProfile(name: "another ben"), in: otherApp)
            _ = try await store.registerDevice(NewDevice(platform: .apns, token: "other-ben-phone"), for: ben, in: otherApp)
            let channel = try await store.createChannel(NewChannel(type: .group, members: [ana, ben], name: "team"), in: app).channel
            _ = try await store.append(AppendRequest(app: app, channel: channel.id, sender: ana, content: MessageContent(text: "nobody to wake")))
            let beforeDevice = try await store.claimOutbox(kinds: [OutboxKind.messagePush], now: fixture.clock.now.addingTimeInterval(60), lease: 30, limit: 10)
            #expect(beforeDevice.isEmpty)

            _ = try await store.registerDevice(NewDevice(platform: .apns, token: "ben-phone"), for: ben, in: app)
            let woken = try await store.append(AppendRequest(app: app, channel: channel.id, sender: ana, content: MessageContent(text: "ben can be woken"))).message
            let afterDevice = try await store.claimOutbox(kinds: [OutboxKind.messagePush], now: fixture.clock.now.addingTimeInterval(60), lease: 30, limit: 10)
            #expect(afterDevice.map(\.subject) == [woken.id.rawValue])
        }
    }
}
