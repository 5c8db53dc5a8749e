import Foundation
import HTTPTypes
import HeraldCore
@testable import HeraldServer
import HeraldStore
import HeraldTestSupport
import Hummingbird
import HummingbirdTesting
import Testing

/// Journeys through the Platform API, on a clock the test moves and a worker it drives: what each
/// customer receives, when, and that nothing is sent twice or skipped.
@Suite("Journeys")
struct JourneysTests {
    static let start = "2026-12-01T09:00:00Z"

    /// A journey of `docs/journeys.md`, as written there.
    static func documented(_ name: String) throws -> String { try DocumentedJourney.named(name) }

    struct Setting {
        let harness: TestHarness
        let client: TestClient
        let clock: TestClock

        /// Acts on every event and moves every run that is due, until nothing is left to do now.
        func settle() async throws {
            let worker = harness.parts.journeyWorker()
            for _ in 0..<50 where try await worker.runOnce() > 0 {}
        }

        func put(_ path: String, _ body: String) async throws -> TestResponse {
            try await client.request(.put, path, auth: harness.apiKey, body: body)
        }

        func event(_ name: String, for user: String, properties: String = "{}", key: String? = nil) async throws -> TestResponse {
            var headers: HTTPFields = [:]
            if let key { headers[.idempotencyKey] = key }
            return try await client.request(
                .post, "/v1/events", auth: harness.apiKey, body: #"{"userId":"\#(user)","name":"\#(name)","properties":\#(properties)}"#, headers: headers)
        }

        /// The titles in a customer's inbox, oldest first.
        func titles(of user: String) async throws -> [String] {
            try await harness.store.inbox(of: harness.user(user), in: harness.app, query: InboxQuery()).items.map(\.title).reversed()
        }

        func report(_ key: String) async throws -> JourneyReport.Decoded {
            try await client.request(.get, "/v1/journeys/\(key)/report", auth: harness.apiKey).decode(JourneyReport.Decoded.self)
        }
    }

    private func with(_ body: @escaping @Sendable (Setting) async throws -> Void) async throws {
        let clock = TestClock(Self.start)
        try await TestHarness.with(clock: clock) { harness in
            try await harness.run { client in try await body(Setting(harness: harness, client: client, clock: clock)) }
        }
    }

    private func template(_ setting: Setting, _ key: String, category: String = "transactional", title: String, body: String = "b") async throws {
        let response = try await setting.put("/v1/templates/\(key)", #"{"category":"\#(category)","title":"\#(title)","body":"\#(body)"}"#)
        #expect(response.status == .created, "\(response.text)")
    }

    private func onboardingTemplates(_ setting: Setting) async throws {
        try await template(setting, "welcome", title: "Welcome", body: "Your plan: {{plan}}")
        try await template(setting, "complete-profile", title: "Complete your profile")
        try await template(setting, "complete-profile-last", title: "Last reminder")
    }

    @Test("Onboarding as documented: welcome when the customer is created, the reminder after two days, the last nudge five days later unless read; completing the profile stops it")
    func onboardingAsDocumented() async throws {
        try await with { setting in
            try await onboardingTemplates(setting)
            let put = try await setting.put("/v1/journeys/onboarding", try Self.documented("onboarding"))
            #expect(put.status == .created, "\(put.text)")

            for user in ["eve", "fay", "gus"] {
                #expect(try await setting.put("/v1/users/\(user)", #"{"name":"New","metadata":{"plan":"gold"}}"#).status == .created)
            }
            #expect(try await setting.put("/v1/users/eve", #"{"name":"Eve","metadata":{"plan":"gold"}}"#).status == .ok, "an update is no second creation")
            try await setting.settle()
            #expect(try await setting.titles(of: "eve") == ["Welcome"])
            let welcome = try await setting.harness.store.inbox(of: setting.harness.user("fay"), in: setting.harness.app, query: InboxQuery()).items[0]
            #expect(welcome.body == "Your plan: gold", "the variable is the customer's metadata")
            #expect(try await setting.titles(of: "ana") == [], "customers created before the journey are not entered")

            // A day later nothing more; after two days the reminder.
            setting.clock.advance(by: 86_400)
            try await setting.settle()
            #expect(try await setting.titles(of: "eve") == ["Welcome"])
            setting.clock.advance(by: 86_400)
            try await setting.settle()
            #expect(try await setting.titles(of: "eve") == ["Welcome", "Complete your profile"])

            // Eve reads the reminder (the journey ends without a last nudge); gus completes his profile
            // (he leaves at once); fay does neither and gets the last nudge when the five days are over.
            let reminder = try await setting.harness.store.inbox(of: setting.harness.user("eve"), in: setting.harness.app, query: InboxQuery()).items[0]
            let token = try await setting.harness.token(for: "eve")
            #expect(try await setting.client.request(.post, "/v1/me/inbox/\(reminder.id)/read", auth: token).status == .ok)
            #expect(try await setting.event("profile.completed", for: "gus").status == .created)
            try await setting.settle()
            setting.clock.advance(by: 5 * 86_400)
            try await setting.settle()

            #expect(try await setting.titles(of: "eve") == ["Welcome", "Complete your profile"])
            #expect(try await setting.titles(of: "fay") == ["Welcome", "Complete your profile", "Last reminder"])
            #expect(try await setting.titles(of: "gus") == ["Welcome", "Complete your profile"])

            let report = try await setting.report("onboarding")
            #expect(report.entries == 3)
            #expect(report.runs == ["completed": 2, "exited": 1])
            #expect(report.steps["welcome"]?.outcomes == ["sent": 3])
            #expect(report.steps["reminder"]?.outcomes == ["sent": 3])
            #expect(report.steps["reminder"]?.read == 1)
            #expect(report.steps["last-nudge"]?.outcomes == ["sent": 1])
            #expect(report.steps["done"]?.outcomes == ["exit": 2])
        }
    }

    @Test("A step moved by two workers at once runs once: one notification, one line in the log")
    func concurrentWorkersRunAStepOnce() async throws {
        try await with { setting in
            try await onboardingTemplates(setting)
            _ = try await setting.put("/v1/journeys/onboarding", try Self.documented("onboarding"))
            #expect(try await setting.put("/v1/users/eve", #"{"metadata":{"plan":"gold"}}"#).status == .created)
            let worker = setting.harness.parts.journeyWorker()
            // Only the event: the run is started, due, not yet moved.
            let jobs = try await setting.harness.store.claimOutbox(kinds: [.journeyEvent], now: setting.clock.now(), lease: 60, limit: 10)
            for job in jobs {
                try await setting.harness.parts.journeys.handle(EventID(rawValue: job.subject!)!, app: job.app)
                try await setting.harness.store.completeOutbox(job.id)
            }
            let runs = try await setting.harness.store.journeyRuns(of: setting.harness.user("eve"), in: setting.harness.app)
            try #require(runs.count == 1)
            // The same claimed run, moved by two "nodes" at once (as after a lease ran out).
            let journeys = setting.harness.parts.journeys
            async let first: Void = journeys.advance(runs[0])
            async let second: Void = journeys.advance(runs[0])
            _ = try await (first, second)
            _ = try await worker.runOnce()

            #expect(try await setting.titles(of: "eve") == ["Welcome"])
            let report = try await setting.report("onboarding")
            #expect(report.steps["welcome"]?.outcomes == ["sent": 1], "\(report)")
        }
    }

    @Test("A send that was made but not committed (a crash between the two) is found again by its key, not made twice")
    func sendRepeatedAfterACrashIsNotDuplicated() async throws {
        try await with { setting in
            try await onboardingTemplates(setting)
            _ = try await setting.put("/v1/journeys/onboarding", try Self.documented("onboarding"))
            #expect(try await setting.put("/v1/users/eve", #"{"metadata":{"plan":"gold"}}"#).status == .created)
            let jobs = try await setting.harness.store.claimOutbox(kinds: [.journeyEvent], now: setting.clock.now(), lease: 60, limit: 10)
            for job in jobs { try await setting.harness.parts.journeys.handle(EventID(rawValue: job.subject!)!, app: job.app) }
            let run = try #require(try await setting.harness.store.journeyRuns(of: setting.harness.user("eve"), in: setting.harness.app).first)
            // What the worker does before it commits: the send, under the run's and step's key.
            let key = IdempotencyKey(scope: "journey:\(run.id)", key: ClientMessageID(rawValue: "welcome")!, request: Data(), user: run.user, requiresSameRequest: false)
            _ = try await setting.harness.parts.notifications.send(
                NewNotification(audience: .users([run.user]), category: .transactional, source: .template(TemplateKey(rawValue: "welcome")!, variables: ["plan": .string("gold")])),
                app: setting.harness.app, idempotency: key)
            // The process "restarts": the run is still at the send step, and is moved again.
            try await setting.harness.parts.journeys.advance(run)
            #expect(try await setting.titles(of: "eve") == ["Welcome"])
            #expect(try await setting.report("onboarding").steps["welcome"]?.outcomes == ["sent": 1])
        }
    }

    @Test("An event acted on twice (a retry after a crash) moves no run twice: the trigger does not end its own wait, an old event not a later wait")
    func eventsActedOnTwice() async throws {
        try await with { setting in
            try await template(setting, "nudge", title: "Still there?")
            try await template(setting, "thanks", title: "Thanks")
            let journey = """
                {"name":"Cart","category":"transactional","trigger":{"event":"cart.updated"},"entry":{"always":true},
                 "steps":[
                   {"id":"quiet","waitFor":{"event":"cart.updated","timeout":"1h","onTimeout":"nudge"}},
                   {"id":"again","waitFor":{"event":"cart.updated","timeout":"1h","onTimeout":"nudge"}},
                   {"id":"thanks","send":{"template":"thanks"},"next":"end"},
                   {"id":"nudge","send":{"template":"nudge"}},
                   {"id":"end","exit":{}}]}
                """
            #expect(try await setting.put("/v1/journeys/cart", journey).status == .created)
            let first = try await setting.event("cart.updated", for: "ana").decode(EventOnly.self)
            try await setting.settle()
            let journeys = setting.harness.parts.journeys
            // The trigger acted on again: the run's first wait is not ended by it.
            try await journeys.handle(try #require(EventID(rawValue: first.id)), app: setting.harness.app)
            var run = try #require(try await setting.harness.store.journeyRuns(of: setting.harness.user("ana"), in: setting.harness.app).first)
            #expect(run.status == .waiting && run.step == 0)
            setting.clock.advance(by: 60)
            let second = try await setting.event("cart.updated", for: "ana").decode(EventOnly.self)
            try await setting.settle()
            run = try #require(try await setting.harness.store.journeyRuns(of: setting.harness.user("ana"), in: setting.harness.app).first)
            #expect(run.step == 1, "the second event ends the first wait")
            // The second event acted on again: the second wait began after it, so it stays.
            try await journeys.handle(try #require(EventID(rawValue: second.id)), app: setting.harness.app)
            run = try #require(try await setting.harness.store.journeyRuns(of: setting.harness.user("ana"), in: setting.harness.app).first)
            #expect(run.step == 1 && run.status == .waiting)
            setting.clock.advance(by: 3_600)
            try await setting.settle()
            #expect(try await setting.titles(of: "ana") == ["Still there?"])
        }
    }

    @Test("Under a cap, a send retried after a crash (its item already there) is sent, not capped; an item from elsewhere does count")
    func cappedSendRetried() async throws {
        try await with { setting in
            try await onboardingTemplates(setting)
            let settings = try await setting.put("/v1/settings", #"{"journeys":{"caps":{"transactional":{"count":1,"per":"1d"}}}}"#)
            #expect(settings.status == .ok, "\(settings.text)")
            _ = try await setting.put("/v1/journeys/onboarding", try Self.documented("onboarding"))
            #expect(try await setting.put("/v1/users/eve", #"{"metadata":{"plan":"gold"}}"#).status == .created)
            let jobs = try await setting.harness.store.claimOutbox(kinds: [.journeyEvent], now: setting.clock.now(), lease: 60, limit: 10)
            for job in jobs { try await setting.harness.parts.journeys.handle(EventID(rawValue: job.subject!)!, app: job.app) }
            var run = try #require(try await setting.harness.store.journeyRuns(of: setting.harness.user("eve"), in: setting.harness.app).first)
            // The worker cleared the cap and committed that, sent, and "crashed" before committing the send.
            run.context.cleared = ["welcome"]
            #expect(try await setting.harness.store.updateJourneyRun(run, log: nil))
            run.revision += 1
            let key = IdempotencyKey(scope: "journey:\(run.id)", key: ClientMessageID(rawValue: "welcome")!, request: Data(), user: run.user, requiresSameRequest: false)
            _ = try await setting.harness.parts.notifications.send(
                NewNotification(audience: .users([run.user]), category: .transactional, source: .template(TemplateKey(rawValue: "welcome")!, variables: ["plan": .string("gold")])),
                app: setting.harness.app, idempotency: key)
            try await setting.harness.parts.journeys.advance(run)
            #expect(try await setting.report("onboarding").steps["welcome"]?.outcomes == ["sent": 1])
            #expect(try await setting.titles(of: "eve") == ["Welcome"])

            // Fay already got a transactional item today from the bank itself: her welcome is capped.
            #expect(try await setting.put("/v1/users/fay", #"{"metadata":{"plan":"gold"}}"#).status == .created)
            _ = try await setting.client.request(.post, "/v1/notifications", auth: setting.harness.apiKey, body: #"{"recipients":["fay"],"template":"complete-profile"}"#)
            try await setting.settle()
            #expect(try await setting.titles(of: "fay") == ["Complete your profile"])
            #expect(try await setting.report("onboarding").steps["welcome"]?.outcomes == ["sent": 1, "capped": 1])

            // The settings refuse a cap on security, a window that does not read; null removes a cap.
            let security = try await setting.put("/v1/settings", #"{"journeys":{"caps":{"security":null}}}"#)
            #expect(security.problem?.errors?.map(\.field) == ["journeys.caps.security"])
            let window = try await setting.put("/v1/settings", #"{"journeys":{"caps":{"marketing":{"count":2,"per":"1w"}}}}"#)
            #expect(window.problem?.errors?.map(\.field) == ["journeys.caps.marketing.per"])
            let removed = try await setting.put("/v1/settings", #"{"journeys":{"caps":{"transactional":null}}}"#)
            #expect(removed.status == .ok && removed.text.contains(#""caps":{}"#), "\(removed.text)")
        }
    }

    @Test("A segment trigger starts the journey when a customer enters the segment: created in it, or updated into it, not while staying in it")
    func segmentTrigger() async throws {
        try await with { setting in
            try await template(setting, "gold-welcome", title: "Welcome to Gold")
            let journey = """
                {"name":"Gold","category":"transactional","trigger":{"segment":{"metadata":{"tier":"gold"}}},"entry":{"always":true},
                 "steps":[{"id":"hello","send":{"template":"gold-welcome"}}]}
                """
            #expect(try await setting.put("/v1/journeys/gold", journey).status == .created)
            #expect(try await setting.put("/v1/users/eve", #"{"metadata":{"tier":"gold"}}"#).status == .created)
            #expect(try await setting.put("/v1/users/fay", #"{"metadata":{"tier":"silver"}}"#).status == .created)
            try await setting.settle()
            #expect(try await setting.titles(of: "eve") == ["Welcome to Gold"], "created in the segment")
            #expect(try await setting.titles(of: "fay") == [])
            #expect(try await setting.put("/v1/users/fay", #"{"metadata":{"tier":"gold"}}"#).status == .ok)
            #expect(try await setting.put("/v1/users/eve", #"{"name":"Eve","metadata":{"tier":"gold"}}"#).status == .ok)
            try await setting.settle()
            #expect(try await setting.titles(of: "fay") == ["Welcome to Gold"], "updated into the segment")
            #expect(try await setting.titles(of: "eve") == ["Welcome to Gold"], "staying in it is no entry")
            // Out and back in: an entry again (the entry rule allows it).
            _ = try await setting.put("/v1/users/fay", #"{"metadata":{"tier":"silver"}}"#)
            _ = try await setting.put("/v1/users/fay", #"{"metadata":{"tier":"gold"}}"#)
            try await setting.settle()
            #expect(try await setting.titles(of: "fay") == ["Welcome to Gold", "Welcome to Gold"])
            // Customers who were there before the journey are not entered by it, only by entering.
            #expect(try await setting.titles(of: "ana") == [])
        }
    }

    @Test("Entry: once ever, once per window, and always (but not while inside)")
    func entryRules() async throws {
        try await with { setting in
            try await template(setting, "hello", title: "Hello")
            for (key, entry) in [("ever", #"{"once":"ever"}"#), ("weekly", #"{"once":"7d"}"#), ("always", #"{"always":true}"#)] {
                let body = """
                    {"name":"\(key)","category":"transactional","trigger":{"event":"ping"},"entry":\(entry),
                     "steps":[{"id":"hello","send":{"template":"hello"}},{"id":"pause","wait":{"duration":"1d"}}]}
                    """
                #expect(try await setting.put("/v1/journeys/\(key)", body).status == .created)
            }
            _ = try await setting.event("ping", for: "ana")
            try await setting.settle()
            _ = try await setting.event("ping", for: "ana")  // inside all three: none starts again
            try await setting.settle()
            #expect(try await setting.report("ever").entries == 1)
            #expect(try await setting.report("weekly").entries == 1)
            #expect(try await setting.report("always").entries == 1)

            setting.clock.advance(by: 2 * 86_400)  // all three runs have ended
            try await setting.settle()
            _ = try await setting.event("ping", for: "ana")
            try await setting.settle()
            #expect(try await setting.report("ever").entries == 1)
            #expect(try await setting.report("weekly").entries == 1, "two days is inside the week")
            #expect(try await setting.report("always").entries == 2)

            setting.clock.advance(by: 6 * 86_400)
            _ = try await setting.event("ping", for: "ana")
            try await setting.settle()
            #expect(try await setting.report("weekly").entries == 2, "eight days after the first entry")
            #expect(try await setting.titles(of: "ana").count == 5)
        }
    }

    @Test("The fraud alert as documented: declined, it offers monitoring; unread after 10 minutes, an SMS is queued; a condition picks who enters")
    func fraudAlertAsDocumented() async throws {
        try await with { setting in
            let alert = try await setting.put(
                "/v1/templates/fraud-alert",
                #"{"category":"security","title":"Card payment of {{amount}} EUR at {{merchant}}","body":"Was this you?","actions":[{"id":"confirm","label":"It was me"},{"id":"decline","label":"Not me"}]}"#)
            #expect(alert.status == .created, "\(alert.text)")
            try await template(setting, "monitoring-offer", category: "security", title: "Turn on account monitoring")
            let put = try await setting.put("/v1/journeys/fraud-alert", try Self.documented("fraud-alert"))
            #expect(put.status == .created, "\(put.text)")

            for (user, amount) in [("ana", 250), ("ben", 900), ("cat", 20)] {
                _ = try await setting.event("card.suspicious", for: user, properties: #"{"amount":\#(amount),"merchant":"Qwertz"}"#)
            }
            try await setting.settle()
            #expect(try await setting.titles(of: "ana") == ["Card payment of 250 EUR at Qwertz"])
            #expect(try await setting.titles(of: "cat") == [], "below the condition's amount")

            // Ana declines at once; ben does not answer.
            let item = try await setting.harness.store.inbox(of: setting.harness.user("ana"), in: setting.harness.app, query: InboxQuery()).items[0]
            let token = try await setting.harness.token(for: "ana")
            let acted = try await setting.client.request(.post, "/v1/me/inbox/\(item.id)/actions/decline", auth: token, body: "{}")
            #expect(acted.status == .ok, "\(acted.text)")
            try await setting.settle()
            #expect(try await setting.titles(of: "ana") == ["Card payment of 250 EUR at Qwertz", "Turn on account monitoring"])

            setting.clock.advance(by: 9 * 60)
            try await setting.settle()
            #expect(try await setting.report("fraud-alert").steps["sms"] == nil)
            setting.clock.advance(by: 60)
            try await setting.settle()
            #expect(try await setting.report("fraud-alert").steps["sms"]?.outcomes == ["queued": 1])
            #expect(try await setting.titles(of: "ben") == ["Card payment of 900 EUR at Qwertz"], "the SMS goes outside the app")
            setting.clock.advance(by: 86_400)
            try await setting.settle()
            let report = try await setting.report("fraud-alert")
            #expect(report.runs == ["completed": 2])
            #expect(report.steps["declined"]?.outcomes == ["then": 1])
            #expect(report.steps["alert"]?.acted == 1)
        }
    }

    @Test("A dry run walks the documented onboarding for a customer and the events given, sending nothing")
    func dryRun() async throws {
        try await with { setting in
            try await onboardingTemplates(setting)
            #expect(try await setting.put("/v1/journeys/onboarding", try Self.documented("onboarding")).status == .created)
            _ = try await setting.put("/v1/users/ana", #"{"name":"Ana","metadata":{"plan":"gold"}}"#)
            func walk(_ body: String) async throws -> JourneySimulation.Walk.Decoded {
                let response = try await setting.client.request(.post, "/v1/journeys/onboarding/dry-run", auth: setting.harness.apiKey, body: body)
                #expect(response.status == .ok, "\(response.text)")
                return try response.decode(JourneySimulation.Walk.Decoded.self)
            }
            // Unread: welcome, two days, reminder, five days, last nudge.
            let unread = try await walk(#"{"userId":"ana","events":[{"name":"user.created"}]}"#)
            #expect(unread.entered && unread.ends == "completed")
            #expect(unread.steps.map(\.step) == ["welcome", "day2", "reminder", "read", "last-nudge", "done"])
            #expect(unread.steps.map(\.after) == [0, 0, 172_800, 172_800, 604_800, 604_800])
            #expect(unread.steps[0].sends?.body == "Your plan: gold")
            // Read: no last nudge. Completed on day 3: exits.
            let read = try await walk(#"{"userId":"ana","events":[{"name":"user.created"}],"items":{"reminder":"read"}}"#)
            #expect(read.steps.map(\.step) == ["welcome", "day2", "reminder", "read", "done"])
            let completed = try await walk(#"{"userId":"ana","events":[{"name":"user.created"},{"name":"profile.completed","after":"3d"}]}"#)
            #expect(completed.ends == "exited" && completed.endsAfter == 259_200)
            #expect(completed.steps.map(\.step) == ["welcome", "day2", "reminder", "read"])
            let other = try await walk(#"{"userId":"ana","events":[{"name":"signup"}]}"#)
            #expect(!other.entered && other.ends == "not_entered")
            // Nothing was sent or started.
            #expect(try await setting.titles(of: "ana") == [])
            #expect(try await setting.report("onboarding").entries == 0)
            let unknown = try await setting.client.request(
                .post, "/v1/journeys/onboarding/dry-run", auth: setting.harness.apiKey, body: #"{"userId":"zoe","events":[{"name":"user.created"}]}"#)
            #expect(unknown.status == .unprocessableContent)
        }
    }

    @Test("A wait until the read hour sends at the hour the customer most often reads, in their time zone")
    func readHour() async throws {
        try await with { setting in
            try await template(setting, "note", title: "Note")
            try await template(setting, "offer", title: "Offer")
            _ = try await setting.put("/v1/users/ana", #"{"name":"Ana","timezone":"Europe/Berlin"}"#)
            // Ana reads at 19:xx Berlin summer time (17:xx UTC) on three October evenings; the journey runs
            // after the change to winter time, when 19:00 in Berlin is 18:00 UTC (a UTC hour would say 17:00).
            for day in 20...22 {
                setting.clock.set("2026-10-\(day)T10:00:00Z")
                let sent = try await setting.client.request(
                    .post, "/v1/notifications", auth: setting.harness.apiKey, body: #"{"recipients":["ana"],"template":"note"}"#)
                #expect(sent.status == .created, "\(sent.text)")
                setting.clock.set("2026-10-\(day)T17:\(10 * (day - 19)):00Z")
                let item = try await setting.harness.store.inbox(of: setting.harness.user("ana"), in: setting.harness.app, query: InboxQuery()).items[0]
                let token = try await setting.harness.token(for: "ana")
                #expect(try await setting.client.request(.post, "/v1/me/inbox/\(item.id)/read", auth: token).status == .ok)
            }
            // A "read all" at 03:00 marks many items at one time: one read, not many.
            for _ in 0..<5 {
                _ = try await setting.client.request(.post, "/v1/notifications", auth: setting.harness.apiKey, body: #"{"recipients":["ana"],"template":"note"}"#)
            }
            setting.clock.set("2026-10-23T01:00:00Z")
            let allRead = try await setting.client.request(.post, "/v1/me/inbox/read-all", auth: try await setting.harness.token(for: "ana"), body: "{}")
            #expect(allRead.status == .ok, "\(allRead.text)")
            let journey = """
                {"name":"Evening","category":"transactional","trigger":{"event":"go"},"entry":{"always":true},
                 "steps":[{"id":"evening","wait":{"until":"read-hour"}},{"id":"offer","send":{"template":"offer"}}]}
                """
            #expect(try await setting.put("/v1/journeys/evening", journey).status == .created)
            setting.clock.set("2026-11-04T09:00:00Z")
            _ = try await setting.event("go", for: "ana")
            try await setting.settle()
            #expect(try await setting.titles(of: "ana").last == "Note")
            setting.clock.set("2026-11-04T17:59:00Z")
            try await setting.settle()
            #expect(try await setting.titles(of: "ana").last == "Note")
            setting.clock.set("2026-11-04T18:00:00Z")
            try await setting.settle()
            #expect(try await setting.titles(of: "ana").last == "Offer")
        }
    }

    @Test("A new version applies to new entries; a customer inside finishes on the version they entered")
    func versions() async throws {
        try await with { setting in
            try await template(setting, "first", title: "First")
            try await template(setting, "one", title: "Version one")
            try await template(setting, "two", title: "Version two")
            func body(_ template: String) -> String {
                """
                {"name":"v","category":"transactional","trigger":{"event":"go"},"entry":{"always":true},
                 "steps":[{"id":"first","send":{"template":"first"}},{"id":"pause","wait":{"duration":"1h"}},{"id":"last","send":{"template":"\(template)"}}]}
                """
            }
            #expect(try await setting.put("/v1/journeys/v", body("one")).status == .created)
            _ = try await setting.event("go", for: "ana")
            try await setting.settle()
            let second = try await setting.put("/v1/journeys/v", body("two"))
            #expect(second.status == .ok)
            #expect(try second.decode(VersionOnly.self).version == 2)
            _ = try await setting.event("go", for: "ben")
            try await setting.settle()
            setting.clock.advance(by: 3_600)
            try await setting.settle()
            #expect(try await setting.titles(of: "ana") == ["First", "Version one"])
            #expect(try await setting.titles(of: "ben") == ["First", "Version two"])
            let first = try await setting.client.request(.get, "/v1/journeys/v?version=1", auth: setting.harness.apiKey)
            #expect(first.status == .ok && first.text.contains(#""template":"one""#))
        }
    }

    @Test("Low balance as documented: only to customers who consented, at most once a week; a send without consent is logged as skipped")
    func lowBalanceAsDocumented() async throws {
        try await with { setting in
            try await template(setting, "overdraft-offer", category: "marketing", title: "Overdraft protection", body: "Your balance is {{balance}} EUR")
            #expect(try await setting.put("/v1/journeys/low-balance", try Self.documented("low-balance")).status == .created)
            _ = try await setting.harness.store.updatePreferences(of: setting.harness.user("ana"), in: setting.harness.app) { preferences in
                var preferences = preferences
                preferences.consents.marketing = true
                return preferences
            }
            _ = try await setting.event("balance.low", for: "ana", properties: #"{"balance":42}"#)
            _ = try await setting.event("balance.low", for: "ben", properties: #"{"balance":42}"#)
            _ = try await setting.event("balance.low", for: "cat", properties: #"{"balance":420}"#)
            try await setting.settle()
            #expect(try await setting.titles(of: "ana") == ["Overdraft protection"])
            #expect(try await setting.titles(of: "ben") == [])
            let report = try await setting.report("low-balance")
            #expect(report.steps["offer"]?.outcomes == ["sent": 1, "skipped": 1])
            #expect(report.entries == 2, "cat's balance is not low")

            setting.clock.advance(by: 6 * 86_400)
            _ = try await setting.event("balance.low", for: "ana", properties: #"{"balance":10}"#)
            try await setting.settle()
            #expect(try await setting.titles(of: "ana") == ["Overdraft protection"], "within the week")
            setting.clock.advance(by: 86_400)
            _ = try await setting.event("balance.low", for: "ana", properties: #"{"balance":10}"#)
            try await setting.settle()
            #expect(try await setting.titles(of: "ana") == ["Overdraft protection", "Overdraft protection"])
        }
    }

    @Test("Events: validated, reserved names refused, idempotent by key, unknown customers refused, other apps' journeys invisible")
    func eventsAndIsolation() async throws {
        try await with { setting in
            let reserved = try await setting.event("item.read", for: "ana")
            #expect(reserved.status == .unprocessableContent)
            #expect(reserved.problem?.errors?.map(\.field) == ["name"])
            let unknown = try await setting.event("ping", for: "zoe")
            #expect(unknown.status == .unprocessableContent)
            #expect(unknown.problem?.errors?.map(\.reason) == [.unknownUser])
            let bad = try await setting.client.request(
                .post, "/v1/events", auth: setting.harness.apiKey, body: #"{"userId":"ana","name":"Ping!","occurredAt":"yesterday","extra":1}"#)
            #expect(bad.status == .unprocessableContent)
            #expect(Set(bad.problem?.errors?.map(\.field) ?? []) == ["name", "occurredAt", "extra"])

            let first = try await setting.event("ping", for: "ana", key: "k-1")
            let again = try await setting.event("ping", for: "ana", key: "k-1")
            #expect(first.status == .created && again.status == .ok)
            #expect(try first.decode(EventOnly.self).id == (try again.decode(EventOnly.self).id))
            #expect(try await setting.event("pong", for: "ana", key: "k-1").status == .conflict)

            try await template(setting, "hello", title: "Hello")
            _ = try await setting.put(
                "/v1/journeys/hello", #"{"name":"h","category":"transactional","trigger":{"event":"ping"},"steps":[{"id":"s","send":{"template":"hello"}}]}"#)
            let other = try await setting.client.request(.get, "/v1/journeys/hello", auth: setting.harness.otherKey)
            #expect(other.status == .notFound)
            let otherEvent = try await setting.client.request(
                .post, "/v1/events", auth: setting.harness.otherKey, body: #"{"userId":"ana","name":"ping"}"#)
            #expect(otherEvent.status == .unprocessableContent, "ana is not a customer of the other app")
        }
    }

    @Test("A journey naming a template that does not exist, or of another category, is refused with the step's path")
    func templatesAreChecked() async throws {
        try await with { setting in
            try await template(setting, "promo", category: "marketing", title: "Promo")
            let body = """
                {"name":"x","category":"security","trigger":{"event":"go"},
                 "steps":[{"id":"a","send":{"template":"missing"}},{"id":"b","send":{"template":"promo"}}]}
                """
            let response = try await setting.put("/v1/journeys/x", body)
            #expect(response.status == .unprocessableContent)
            #expect(response.problem?.errors?.map(\.field) == ["steps[0].send.template", "steps[1].send.template"])
            #expect(try await setting.client.request(.get, "/v1/journeys/x", auth: setting.harness.apiKey).status == .notFound)
        }
    }

    @Test("Event properties and run contexts are sealed at rest; erasing a customer removes their events and runs")
    func sealedAndErased() async throws {
        try await with { setting in
            try await template(setting, "hello", title: "Hello")
            _ = try await setting.put(
                "/v1/journeys/hello",
                #"{"name":"h","category":"transactional","trigger":{"event":"ping"},"steps":[{"id":"s","send":{"template":"hello"}},{"id":"w","wait":{"duration":"1d"}}]}"#)
            let since = Date()
            _ = try await setting.event("ping", for: "ana", properties: #"{"merchant":"Zyxwvut Secret Shop"}"#)
            try await setting.settle()
            for (name, bytes) in try setting.harness.filesAtRest(since: since) {
                #expect(bytes.range(of: Data("Zyxwvut Secret Shop".utf8)) == nil, "\(name) holds the property in clear")
            }
            #expect(try await setting.harness.store.journeyRuns(of: setting.harness.user("ana"), in: setting.harness.app).count == 1)
            // The customer's export holds what the journeys keep of them.
            let export = try await setting.client.request(.get, "/v1/users/ana/export", auth: setting.harness.apiKey).decode(UserExport.self)
            #expect(export.journeyActivity.events.map(\.properties) == [["merchant": .string("Zyxwvut Secret Shop")]])
            #expect(export.journeyActivity.journeys.map { "\($0.journey) \($0.status)" } == ["hello waiting"])
            #expect(try await setting.client.request(.delete, "/v1/users/ana", auth: setting.harness.apiKey).status == .noContent)
            #expect(try await setting.harness.store.journeyRuns(of: setting.harness.user("ana"), in: setting.harness.app).isEmpty)
            #expect(try await setting.report("hello").entries == 0)
        }
    }

    @Test("A digest leaves out an entry its template cannot show, and lists fewer when all would be too large; count counts what it keeps")
    func digestsSurviveBadEntries() async throws {
        try await with { setting in
            try await template(setting, "offers-digest", title: "{{count}} new offers", body: "{{#items}}{{offer}} ({{rate}}); {{/items}}")
            let journey = """
                {"name":"o","category":"transactional","trigger":{"event":"offer.available"},"entry":{"always":true},
                 "steps":[{"id":"collect","digest":{"template":"offers-digest","window":"1h",
                   "variables":{"offer":"event.properties.name","rate":"event.properties.rate"}}}]}
                """
            #expect(try await setting.put("/v1/journeys/offers", journey).status == .created)
            // Ana: one entry without a rate among good ones. Ben: forty long entries, about 8,000 characters in all.
            for (name, rate) in [("Savings", "2%"), ("Loan", nil), ("Fund", "5%")] {
                let properties = rate.map { #"{"name":"\#(name)","rate":"\#($0)"}"# } ?? #"{"name":"\#(name)"}"#
                #expect(try await setting.event("offer.available", for: "ana", properties: properties).status == .created)
                try await setting.settle()  // each run ends before the next event (entry `always`, but not while inside)
            }
            let long = String(repeating: "x", count: 190)
            for index in 0..<40 {
                #expect(try await setting.event("offer.available", for: "ben", properties: #"{"name":"\#(index)\#(long)","rate":"1%"}"#).status == .created)
                try await setting.settle()
            }
            setting.clock.advance(by: 3_600)
            try await setting.settle()
            let anaTitles = try await setting.titles(of: "ana")
            let benTitles = try await setting.titles(of: "ben")
            #expect(anaTitles.count == 1 && benTitles.count == 1, "one digest each: \(anaTitles), \(benTitles)")
            let ana = try #require(try await setting.harness.store.inbox(of: setting.harness.user("ana"), in: setting.harness.app, query: InboxQuery()).items.first)
            #expect(ana.title == "2 new offers" && ana.body == "Savings (2%); Fund (5%);", "\(ana.title): \(ana.body)")
            let ben = try #require(try await setting.harness.store.inbox(of: setting.harness.user("ben"), in: setting.harness.app, query: InboxQuery()).items.first)
            #expect(ben.title == "40 new offers")
            let listed = ben.body.components(separatedBy: "; ").count
            #expect(listed > 1 && listed < 40, "a shorter list that fits: \(listed)")
            #expect(ben.body.hasPrefix("0" + long), "oldest first")
        }
    }

    @Test("A customer who consents to marketing is greeted (user.preferences.updated, with the preferences before and after); withdrawing starts nothing")
    func preferencesEvents() async throws {
        try await with { setting in
            try await template(setting, "welcome-offer", category: "marketing", title: "Welcome to our offers")
            let journey = """
                {"name":"w","category":"marketing","trigger":{"event":"user.preferences.updated","where":{"all":[
                   {"eq":["event.properties.preferences.consents.marketing",true]},{"eq":["event.properties.previousPreferences.consents.marketing",false]}]}},
                 "steps":[{"id":"s","send":{"template":"welcome-offer"}}]}
                """
            let put = try await setting.put("/v1/journeys/welcome-offer", journey)
            #expect(put.status == .created, "\(put.text)")
            let token = try await setting.harness.token(for: "ana")
            func consent(_ granted: Bool) async throws {
                let body = #"{"consents":{"marketing":\#(granted)}}"#
                #expect(try await setting.client.request(.put, "/v1/me/preferences", auth: token, body: body).status == .ok)
                try await setting.settle()
            }
            try await consent(true)
            #expect(try await setting.titles(of: "ana") == ["Welcome to our offers"])
            try await consent(false)
            try await consent(false)
            let export = try await setting.client.request(.get, "/v1/users/ana/export", auth: setting.harness.apiKey).decode(UserExport.self)
            #expect(export.journeyActivity.events.map(\.name) == ["user.preferences.updated", "user.preferences.updated"], "a change each, none for no change")
            #expect(try await setting.titles(of: "ana") == ["Welcome to our offers"], "withdrawing greets nobody")
        }
    }

    @Test("Item events: a read starts a journey but a read of its own item does not; an unacted security item's expiry escalates, an acted one's does not")
    func itemEvents() async throws {
        try await with { setting in
            try await template(setting, "statement", title: "Statement")
            try await template(setting, "thanks", title: "Thanks for reading")
            try await template(setting, "approval-expired", category: "security", title: "Your approval expired")
            let approval = try await setting.put(
                "/v1/templates/approval", #"{"category":"security","title":"Approve","body":"b","actions":[{"id":"ok","label":"OK"}]}"#)
            #expect(approval.status == .created)
            let thanks = #"{"name":"t","category":"transactional","trigger":{"event":"item.read"},"entry":{"always":true},"steps":[{"id":"s","send":{"template":"thanks"}}]}"#
            #expect(try await setting.put("/v1/journeys/thanks", thanks).status == .created)
            let escalate = """
                {"name":"e","category":"security","trigger":{"event":"item.expired","where":{"eq":["event.properties.category","security"]}},
                 "steps":[{"id":"s","send":{"template":"approval-expired"}}]}
                """
            #expect(try await setting.put("/v1/journeys/escalate", escalate).status == .created)
            func send(_ body: String) async throws {
                #expect(try await setting.client.request(.post, "/v1/notifications", auth: setting.harness.apiKey, body: body).status == .created)
            }
            func act(_ user: String, _ path: String) async throws {
                let token = try await setting.harness.token(for: user)
                let item = try #require(try await setting.harness.store.inbox(of: setting.harness.user(user), in: setting.harness.app, query: InboxQuery()).items.first)
                #expect(try await setting.client.request(.post, "/v1/me/inbox/\(item.id)/\(path)", auth: token, body: "{}").status == .ok)
            }

            try await send(#"{"recipients":["ana"],"template":"statement"}"#)
            try await act("ana", "read")
            try await setting.settle()
            #expect(try await setting.titles(of: "ana") == ["Statement", "Thanks for reading"])
            try await act("ana", "read")
            try await setting.settle()
            #expect(try await setting.titles(of: "ana") == ["Statement", "Thanks for reading"], "the journey's own item read starts nothing")

            try await send(#"{"recipients":["ana","ben"],"template":"approval","expiresAt":"2026-12-01T10:00:00Z"}"#)
            try await act("ben", "actions/ok")
            try await setting.settle()
            setting.clock.advance(by: 3_600)
            try await setting.settle()
            #expect(try await setting.titles(of: "ana") == ["Statement", "Thanks for reading", "Your approval expired"])
            // Ben acted (and so read): no escalation, but thanks for the read; the approval has left his inbox, expired.
            #expect(try await setting.titles(of: "ben") == ["Thanks for reading"])

            let export = try await setting.client.request(.get, "/v1/users/ana/export", auth: setting.harness.apiKey).decode(UserExport.self)
            let events = export.journeyActivity.events
            // Only the states a journey names are recorded (no item.delivered here, though each read delivers).
            let described = events.map { event -> String in
                guard case .string(let journey)? = event.properties["journey"] else { return event.name }
                return "\(event.name) from \(journey)"
            }
            #expect(described.sorted() == ["item.expired", "item.read", "item.read from thanks"])
            #expect(events.last?.properties["category"] == .string("security"))
            #expect(events.last?.occurredAt == WireTime.parse("2026-12-01T10:00:00Z"))
        }
    }

    @Test("Item events are recorded only for apps with a journey that names one")
    func itemEventsOnlyWhenNamed() async throws {
        try await with { setting in
            try await template(setting, "statement", title: "Statement")
            #expect(try await setting.client.request(.post, "/v1/notifications", auth: setting.harness.apiKey, body: #"{"recipients":["ana"],"template":"statement"}"#).status == .created)
            let token = try await setting.harness.token(for: "ana")
            let item = try #require(try await setting.harness.store.inbox(of: setting.harness.user("ana"), in: setting.harness.app, query: InboxQuery()).items.first)
            #expect(try await setting.client.request(.post, "/v1/me/inbox/\(item.id)/read", auth: token).status == .ok)
            try await setting.settle()
            let export = try await setting.client.request(.get, "/v1/users/ana/export", auth: setting.harness.apiKey).decode(UserExport.self)
            #expect(export.journeyActivity.events.isEmpty)
        }
    }

    @Test("A digest: a day's offers in one message listing them; entries after it open the next; refused in security, sent only by its window's end")
    func digests() async throws {
        try await with { setting in
            try await template(setting, "offers-digest", title: "{{count}} new offers", body: "{{#items}}{{offer}}; {{/items}}")
            let journey = """
                {"name":"o","category":"transactional","trigger":{"event":"offer.available"},"entry":{"always":true},
                 "steps":[{"id":"collect","digest":{"template":"offers-digest","window":"1d","variables":{"offer":"event.properties.name"}}}]}
                """
            let put = try await setting.put("/v1/journeys/offers", journey)
            #expect(put.status == .created, "\(put.text)")
            for (user, offer) in [("ana", "Savings"), ("ben", "Card"), ("ana", "Loan"), ("ana", "Fund")] {
                #expect(try await setting.event("offer.available", for: user, properties: #"{"name":"\#(offer)"}"#).status == .created)
                try await setting.settle()
            }
            setting.clock.advance(by: 86_399)
            try await setting.settle()
            #expect(try await setting.titles(of: "ana").isEmpty, "not before the window ends")
            // Meanwhile the customer's export shows what the digest holds about them.
            let export = try await setting.client.request(.get, "/v1/users/ana/export", auth: setting.harness.apiKey).decode(UserExport.self)
            #expect(export.journeyActivity.digestEntries.map(\.variables) == ["Savings", "Loan", "Fund"].map { ["offer": JSONValue.string($0)] })
            setting.clock.advance(by: 1)
            try await setting.settle()
            #expect(try await setting.titles(of: "ana") == ["3 new offers"])
            #expect(try await setting.titles(of: "ben") == ["1 new offers"])
            let item = try #require(try await setting.harness.store.inbox(of: setting.harness.user("ana"), in: setting.harness.app, query: InboxQuery()).items.first)
            #expect(item.body == "Savings; Loan; Fund;", "oldest first")
            let sent = try await setting.client.request(.get, "/v1/users/ana/export", auth: setting.harness.apiKey).decode(UserExport.self)
            #expect(sent.journeyActivity.digestEntries.isEmpty, "sent: the entries are gone, the message is in the inbox")
            // The digest's message is the journey's: its item events start no journey.
            #expect(try await setting.harness.store.journey(sent: item.notificationId, in: setting.harness.app)?.rawValue == "offers")

            #expect(try await setting.event("offer.available", for: "ana", properties: #"{"name":"Bond"}"#).status == .created)
            try await setting.settle()
            setting.clock.advance(by: 86_400)
            try await setting.settle()
            #expect(try await setting.titles(of: "ana") == ["3 new offers", "1 new offers"])
            #expect(try await setting.report("offers").steps["collect"]?.outcomes == ["digested": 5])

            try await template(setting, "alerts-digest", category: "security", title: "{{count}} alerts")
            let security = """
                {"name":"s","category":"security","trigger":{"event":"x"},"steps":[{"id":"d","digest":{"template":"alerts-digest","window":"1h"}}]}
                """
            let refused = try await setting.put("/v1/journeys/alerts", security)
            #expect(refused.status == .unprocessableContent)
            #expect(refused.problem?.errors?.map(\.field) == ["steps[0].digest"])
            let short = journey.replacingOccurrences(of: #""window":"1d""#, with: #""window":"30s""#)
            #expect(try await setting.put("/v1/journeys/offers", short).problem?.errors?.map(\.field) == ["steps[0].digest.window"])
        }
    }

    private struct VersionOnly: Decodable { var version: Int }
    private struct EventOnly: Decodable { var id: String }
}

extension JourneyReport {
    /// The report as a client reads it, its steps by id.
    struct Decoded: Decodable {
        struct Step: Decodable {
            var step: String
            var outcomes: [String: Int]
            var delivered: Int
            var read: Int
            var acted: Int
        }

        var entries: Int
        var runs: [String: Int]
        var stepList: [Step]
        var steps: [String: Step] { Dictionary(uniqueKeysWithValues: stepList.map { ($0.step, $0) }) }

        private enum CodingKeys: String, CodingKey {
            case entries, runs
            case stepList = "steps"
        }
    }
}

extension JourneySimulation.Walk {
    /// The walk as a client reads it.
    struct Decoded: Decodable {
        struct Step: Decodable {
            struct Sends: Decodable {
                var title: String
                var body: String
            }

            var step: String
            var after: Int64
            var outcome: String
            var sends: Sends?
        }

        var entered: Bool
        var ends: String
        var endsAfter: Int64
        var steps: [Step]
    }
}
