import Foundation
import HeraldCore
@testable import HeraldStore
import Testing

/// What every store promises journeys, on both backends: one run per trigger event, entry rules checked
/// with the insert, moves that only happen from the revision they were decided on, a step logged once,
/// leases that keep a due run to one worker, and items that wake the runs waiting on them.
@Suite("Store conformance: journeys")
struct JourneyStoreConformanceTests {
    private let ana = StoreFixture.ana
    private let ben = StoreFixture.ben
    private static let journey = JourneyKey(rawValue: "onboarding")!

    private func run(_ fixture: StoreFixture, app: AppID, user: UserID, trigger: EventID? = .generate(), at time: Date? = nil) -> JourneyRun {
        let time = WireTime.truncated(time ?? fixture.clock.now)
        return JourneyRun(
            id: .generate(at: time), app: app, journey: Self.journey, version: 1, user: user, status: .ready, step: 0, dueAt: time,
            context: JourneyRun.Context(event: .object(["name": .string("signup")])), trigger: trigger, enteredAt: time)
    }

    @Test("A trigger event starts a journey once; the entry rules are checked against every earlier run", arguments: StoreBackend.allCases)
    func entryRules(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let app = try await fixture.appWithAnaAndBen()
            let store = fixture.store
            let trigger = EventID.generate()
            let first = run(fixture, app: app, user: ana, trigger: trigger)
            #expect(try await store.startJourneyRun(first, entry: .always))
            #expect(try await !store.startJourneyRun(run(fixture, app: app, user: ana, trigger: trigger), entry: .always), "the same trigger event")
            #expect(try await !store.startJourneyRun(run(fixture, app: app, user: ana), entry: .always), "inside already")
            #expect(try await store.startJourneyRun(run(fixture, app: app, user: ben), entry: .onceEver), "another customer")

            var ended = first
            ended.status = .completed
            ended.dueAt = nil
            ended.endedAt = fixture.clock.now
            #expect(try await store.updateJourneyRun(ended, log: nil))
            #expect(try await !store.startJourneyRun(run(fixture, app: app, user: ana), entry: .onceEver))
            #expect(try await !store.startJourneyRun(run(fixture, app: app, user: ana), entry: .oncePer(seconds: 3_600)))
            fixture.clock.advance(by: 3_600)
            #expect(try await store.startJourneyRun(run(fixture, app: app, user: ana), entry: .oncePer(seconds: 3_600)))
            #expect(try await store.journeyRuns(of: ana, in: app).count == 1)
        }
    }

    @Test("A move is written only from the revision it was decided on, and a step is logged once for a run", arguments: StoreBackend.allCases)
    func compareAndSetAndStepLog(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let app = try await fixture.appWithAnaAndBen()
            let store = fixture.store
            let started = run(fixture, app: app, user: ana)
            #expect(try await store.startJourneyRun(started, entry: .always))
            let log = JourneyStepRecord(run: started.id, step: "welcome", outcome: "sent", at: fixture.clock.now)

            var moved = started
            moved.step = 1
            #expect(try await store.updateJourneyRun(moved, log: log))
            // Another worker decided on the same revision: refused, and its log line with it.
            var stale = started
            stale.step = 2
            #expect(try await !store.updateJourneyRun(stale, log: JourneyStepRecord(run: started.id, step: "other", outcome: "sent", at: fixture.clock.now)))
            // The same step again, from the current revision: refused by the log.
            var current = try #require(try await store.journeyRun(started.id, in: app))
            #expect(current.step == 1 && current.revision == 1)
            current.step = 3
            #expect(try await !store.updateJourneyRun(current, log: log))
            #expect(try await store.journeyRun(started.id, in: app)?.step == 1)
            // The refused "other" line was taken back: that step can still be logged.
            #expect(try await store.updateJourneyRun(current, log: JourneyStepRecord(run: started.id, step: "other", outcome: "sent", at: fixture.clock.now)))
            let report = try await store.journeyReport(Self.journey, in: app)
            #expect(report.steps.map(\.step) == ["other", "welcome"])
            #expect(report.steps.map(\.outcomes) == [["sent": 1], ["sent": 1]])
        }
    }

    @Test("A due run is claimed by one worker until its lease runs out or it is written", arguments: StoreBackend.allCases)
    func claimsAreLeased(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let app = try await fixture.appWithAnaAndBen()
            let store = fixture.store
            var later = run(fixture, app: app, user: ben)
            later.dueAt = fixture.clock.now.addingTimeInterval(600)
            #expect(try await store.startJourneyRun(run(fixture, app: app, user: ana), entry: .always))
            #expect(try await store.startJourneyRun(later, entry: .always))

            let claimed = try await store.claimDueJourneyRuns(now: fixture.clock.now, lease: 60, limit: 10)
            #expect(claimed.map(\.user) == [ana], "ben's is not due")
            #expect(try await store.claimDueJourneyRuns(now: fixture.clock.now, lease: 60, limit: 10).isEmpty, "leased")
            fixture.clock.advance(by: 61)
            #expect(try await store.claimDueJourneyRuns(now: fixture.clock.now, lease: 60, limit: 10).map(\.user) == [ana], "the lease ran out")
            // Written by its worker: the lease is given back, and the run is due again when its dueAt says.
            var waiting = claimed[0]
            waiting.status = .waiting
            waiting.dueAt = fixture.clock.now
            #expect(try await store.updateJourneyRun(waiting, log: nil))
            #expect(try await store.claimDueJourneyRuns(now: fixture.clock.now, lease: 60, limit: 10).map(\.user) == [ana])
        }
    }

    @Test("An item read, acted on or delivered wakes the run waiting on it, and moves its revision", arguments: StoreBackend.allCases)
    func itemChangesWakeWaitingRuns(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let app = try await fixture.appWithAnaAndBen()
            let store = fixture.store
            let time = WireTime.truncated(fixture.clock.now)
            let notification = OutgoingNotification(
                id: .generate(), app: app, category: .security, source: .content(title: "Alert", body: "Check"), templateVersion: nil,
                audience: .users([ana]), data: nil, actions: nil, sendAt: nil, expiresAt: nil, createdAt: time, status: .sending)
            _ = try await store.createNotification(notification, idempotency: nil)
            let item = InboxItem(
                id: .generate(), notificationId: notification.id, recipient: ana, category: .security, title: "Alert", body: "Check", data: nil,
                actions: nil, createdAt: time, expiresAt: nil, jws: "signed")
            try await store.insertInboxItems([item], app: app, now: time)
            #expect(try await store.journeyItemState(of: notification.id, user: ana, in: app)?.state == nil)

            var waiting = run(fixture, app: app, user: ana)
            waiting.status = .waiting
            waiting.dueAt = time.addingTimeInterval(3_600)
            waiting.deadline = waiting.dueAt
            waiting.waitNotification = notification.id
            #expect(try await store.startJourneyRun(waiting, entry: .always))
            var other = run(fixture, app: app, user: ben)
            other.status = .waiting
            other.dueAt = time.addingTimeInterval(3_600)
            other.waitNotification = notification.id
            #expect(try await store.startJourneyRun(other, entry: .always))
            #expect(try await store.claimDueJourneyRuns(now: time, lease: 60, limit: 10).isEmpty)

            _ = try await store.markInboxItemRead(item.id, of: ana, in: app)
            let woken = try await store.claimDueJourneyRuns(now: time, lease: 60, limit: 10)
            #expect(woken.map(\.id) == [waiting.id], "ben's run waits on the same notification, not on ana's item")
            #expect(woken.first?.revision == 1)
            #expect(try await store.journeyItemState(of: notification.id, user: ana, in: app)?.state == .read)
            // The worker that decided on the run before the wake cannot write over it.
            var stale = waiting
            stale.dueAt = waiting.deadline
            #expect(try await !store.updateJourneyRun(stale, log: nil))
        }
    }

    @Test("An event is kept sealed with its customer's key, read back whole, and found again by its idempotency key", arguments: StoreBackend.allCases)
    func eventsAreSealedAndIdempotent(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let app = try await fixture.appWithAnaAndBen()
            let store = fixture.store
            let time = WireTime.truncated(fixture.clock.now)
            let event = CustomerEvent(
                id: .generate(at: time), user: ana, name: "card.suspicious", properties: ["merchant": .string("Qwertz Secret Shop")], occurredAt: time,
                recordedAt: time)
            let key = IdempotencyKey(scope: "test", key: ClientMessageID(rawValue: "k")!, request: Data("a".utf8), user: ana, requiresSameRequest: true)
            #expect(try await store.recordEvent(event, app: app, idempotency: key) == (event, false))
            var second = event
            second.id = .generate(at: time)
            let replay = try await store.recordEvent(second, app: app, idempotency: key)
            #expect(replay.event == event && replay.isReplay)
            #expect(try await store.customerEvent(event.id, in: app) == event)
            #expect(try await store.customerEvent(second.id, in: app) == nil)
            let jobs = try await store.claimOutbox(kinds: [.journeyEvent], now: time, lease: 60, limit: 10)
            #expect(jobs.map(\.subject) == [event.id.rawValue], "one outbox row, for the first")

            await #expect(throws: HeraldError.self) {
                _ = try await store.recordEvent(
                    CustomerEvent(id: .generate(), user: UserID(rawValue: "zoe")!, name: "x", properties: [:], occurredAt: time, recordedAt: time), app: app,
                    idempotency: nil)
            }
            let other = try await store.createApp(name: "Other").app.id
            #expect(try await store.customerEvent(event.id, in: other) == nil, "another app's")
        }
    }

    @Test("Retention deletes old events and shreds the context of runs that ended before it; running runs and the entry rules are kept", arguments: StoreBackend.allCases)
    func retention(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let app = try await fixture.appWithAnaAndBen()
            let store = fixture.store
            let old = WireTime.truncated(fixture.clock.now)
            func event(at time: Date) -> CustomerEvent {
                CustomerEvent(id: .generate(at: time), user: ana, name: "card.suspicious", properties: ["merchant": .string("Qwertz")], occurredAt: time, recordedAt: time)
            }
            let oldEvent = event(at: old)
            _ = try await store.recordEvent(oldEvent, app: app, idempotency: nil)
            // Ana's run ended at once (long ago); Ben's is still waiting from then.
            var ended = run(fixture, app: app, user: ana, at: old)
            #expect(try await store.startJourneyRun(ended, entry: .onceEver))
            ended.status = .completed
            ended.dueAt = nil
            ended.endedAt = old
            #expect(try await store.updateJourneyRun(ended, log: nil))
            var waiting = run(fixture, app: app, user: ben, at: old)
            #expect(try await store.startJourneyRun(waiting, entry: .onceEver))
            waiting.status = .waiting
            waiting.deadline = old.addingTimeInterval(86_400 * 60)
            waiting.dueAt = waiting.deadline
            #expect(try await store.updateJourneyRun(waiting, log: nil))

            fixture.clock.advance(by: 86_400 * 31)
            let recent = event(at: WireTime.truncated(fixture.clock.now))
            _ = try await store.recordEvent(recent, app: app, idempotency: nil)
            let cutoff = fixture.clock.now.addingTimeInterval(-86_400 * 30)

            var removed = try await store.expireJourneyContent(of: app, before: cutoff, limit: 1)
            #expect(removed.events == 1 && removed.runs == 1)
            removed = try await store.expireJourneyContent(of: app, before: cutoff, limit: 1)
            #expect(removed.events == 0 && removed.runs == 0 && removed.digests == 0, "done in one batch; the waiting run is not touched")

            #expect(try await store.customerEvent(oldEvent.id, in: app) == nil)
            #expect(try await store.customerEvent(recent.id, in: app) == recent)
            let shredded = try #require(try await store.journeyRun(ended.id, in: app))
            #expect(shredded.status == .completed && shredded.context == JourneyRun.Context(event: .null))
            #expect(try await store.journeyRun(waiting.id, in: app)?.context == waiting.context, "a run not ended keeps what it acts on")
            #expect(try await !store.startJourneyRun(run(fixture, app: app, user: ana), entry: .onceEver), "once ever is still once")
            #expect(try await store.journeyActivity(of: ana, in: app).events.map(\.id) == [recent.id])
        }
    }

    @Test("Digest entries: added once per run and step with the move, to one open digest per customer and template; closed, the next opens another", arguments: StoreBackend.allCases)
    func digests(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let app = try await fixture.appWithAnaAndBen()
            let store = fixture.store
            let template = TemplateKey(rawValue: "offers")!
            func entry(_ offer: String) -> DigestEntry {
                DigestEntry(template: template, category: .transactional, windowSeconds: 3_600, step: "collect", variables: ["offer": .string(offer)])
            }
            func digested(_ user: UserID, _ offer: String) async throws -> JourneyRun {
                let started = run(fixture, app: app, user: user)
                #expect(try await store.startJourneyRun(started, entry: .always))
                var moved = started
                moved.step = 1
                let log = JourneyStepRecord(run: started.id, step: "collect", outcome: "digested", at: fixture.clock.now)
                #expect(try await store.updateJourneyRun(moved, log: log, effects: [], digest: entry(offer)))
                // The same step again (a retry after a crash) adds nothing.
                var again = moved
                again.revision += 1
                #expect(try await !store.updateJourneyRun(again, log: log, effects: [], digest: entry(offer + " again")))
                moved.revision += 1
                moved.status = .completed
                moved.dueAt = nil
                moved.endedAt = fixture.clock.now
                #expect(try await store.updateJourneyRun(moved, log: nil))
                return moved
            }
            _ = try await digested(ana, "Savings")
            fixture.clock.advance(by: 60)
            _ = try await digested(ana, "Loan")
            _ = try await digested(ben, "Card")

            #expect(try await store.claimOutbox(kinds: [.journeyDigest], now: fixture.clock.now, lease: 30, limit: 10).isEmpty, "not before the window ends")
            let due = try await store.claimOutbox(kinds: [.journeyDigest], now: fixture.clock.now.addingTimeInterval(3_600), lease: 30, limit: 10)
            #expect(due.count == 2, "one digest per customer, opened by the first entry")
            let anas = try #require(due.first { $0.user == ana })
            let id = try #require(anas.subject.flatMap(JourneyDigestID.init(rawValue:)))
            let closed = try #require(try await store.closeDigest(id, in: app))
            #expect(closed.user == ana && closed.template == template && closed.category == .transactional && !closed.isFinished)
            #expect(closed.journey == Self.journey && closed.count == 2)
            #expect(closed.entries == [["offer": .string("Savings")], ["offer": .string("Loan")]])
            #expect(try await store.closeDigest(id, in: app) == closed, "closing again reads the same")

            // After the close, Ana's next entry opens a new digest.
            _ = try await digested(ana, "Fund")
            let next = try await store.claimOutbox(kinds: [.journeyDigest], now: fixture.clock.now.addingTimeInterval(7_200), lease: 30, limit: 10)
            #expect(next.contains { $0.user == ana && $0.subject != id.rawValue })
            try await store.finishDigest(id, notification: .generate(), in: app)
            let finished = try #require(try await store.closeDigest(id, in: app))
            #expect(finished.isFinished && finished.entries.isEmpty, "sent: its entries are gone")
            // Retention deletes finished digests opened before the cutoff, never an open one.
            let removed = try await store.expireJourneyContent(of: app, before: fixture.clock.now.addingTimeInterval(86_400), limit: 10)
            #expect(removed.digests == 1)
            #expect(try await store.closeDigest(id, in: app) == nil)
            #expect(try await store.closeDigest(id, in: try await store.createApp(name: "Other").app.id) == nil, "another app's")
            // Erasure takes the customer's digests and their entries with them.
            let bens = try #require(due.first { $0.user == ben }?.subject.flatMap(JourneyDigestID.init(rawValue:)))
            #expect(try await store.eraseUser(ben, in: app))
            #expect(try await store.closeDigest(bens, in: app) == nil)
            #expect(try await store.journeyActivity(of: ana, in: app).digestEntries.map(\.variables) == [["offer": .string("Fund")]], "Ana's pending entry")
        }
    }

    @Test("A fallback's log line is kept for a customer, not for one erased meanwhile; erasure removes the customer's lines, events and runs", arguments: StoreBackend.allCases)
    func fallbackLogAndErasure(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let app = try await fixture.appWithAnaAndBen()
            let store = fixture.store
            let item = InboxItemID.generate()
            let time = WireTime.truncated(fixture.clock.now)
            try await store.recordFallbackDelivery(FallbackDelivery(user: ana, item: item, channel: .sms, attempt: 1, outcome: .sent, statusCode: 201, at: time), app: app)
            try await store.recordFallbackDelivery(FallbackDelivery(user: ben, item: item, channel: .email, attempt: 1, outcome: .failed, reason: "x", at: time), app: app)
            #expect(try await store.startJourneyRun(run(fixture, app: app, user: ana), entry: .always))
            let event = CustomerEvent(id: .generate(at: time), user: ana, name: "x", properties: [:], occurredAt: time, recordedAt: time)
            _ = try await store.recordEvent(event, app: app, idempotency: nil)
            #expect(try await store.fallbackDeliveries(of: app, limit: 10, before: nil).map(\.delivery.user) == [ben, ana])

            #expect(try await store.eraseUser(ana, in: app))
            try await store.recordFallbackDelivery(FallbackDelivery(user: ana, item: item, channel: .sms, attempt: 2, outcome: .sent, at: time), app: app)
            #expect(try await store.fallbackDeliveries(of: app, limit: 10, before: nil).map(\.delivery.user) == [ben])
            #expect(try await store.journeyRuns(of: ana, in: app).isEmpty)
            #expect(try await store.customerEvent(event.id, in: app) == nil)
            let other = try await store.createApp(name: "Other").app.id
            #expect(try await store.fallbackDeliveries(of: other, limit: 10, before: nil).isEmpty)
        }
    }
}
