import Foundation
import HeraldCore
import HeraldStore
import HeraldTestSupport
import Testing

/// 10,000 customers through a journey of a send, a wait of an hour, a branch and a second send, on the
/// real binary with its clock moved by the test (`--test-clock-offset-file`), the server killed with -9
/// in the middle of each half and restarted: every customer gets each of their steps exactly once.
@Suite("A journey killed with -9", .serialized)
struct JourneyKillTests {
    static let customers = 10_000

    static let journey = """
        {"name":"Kill test","category":"transactional","trigger":{"event":"account.opened"},"entry":{"once":"ever"},
         "steps":[
          {"id":"welcome","send":{"template":"welcome"}},
          {"id":"pause","wait":{"duration":"1h"}},
          {"id":"tier","branch":{"if":{"eq":["user.metadata.tier","gold"]},"then":"gold","else":"standard"}},
          {"id":"gold","send":{"template":"gold"},"next":"end"},
          {"id":"standard","send":{"template":"standard"}},
          {"id":"end","exit":{}}]}
        """

    struct Report: Decodable {
        struct Step: Decodable {
            var step: String
            var outcomes: [String: Int]
        }

        var entries: Int
        var runs: [String: Int]
        var steps: [Step]

        func count(_ step: String, _ outcome: String) -> Int { steps.first { $0.step == step }?.outcomes[outcome] ?? 0 }
    }

    @Test("10,000 customers, the server killed mid-send and mid-branch: each customer gets each step exactly once")
    func killedJourneyResumes() async throws {
        let data = try EndToEndTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let app = try EndToEndTests.createApp(data: data)
        let appID = try #require(AppID(rawValue: app.appId))
        try await Self.seed(data: data, app: appID)
        let clockFile = data.appendingPathComponent("clock")
        func setClock(_ seconds: Int) throws { try "\(seconds)".write(to: clockFile, atomically: true, encoding: .utf8) }
        try setClock(0)
        let arguments = ["--test-clock-offset-file", clockFile.path]

        func report(_ server: HeraldProcess) async throws -> Report? {
            guard let response = await EndToEndTests.call(.GET, "\(server.baseURL)/v1/journeys/kill-test/report", key: app.apiKey), response.status == 200
            else { return nil }
            return try JSONDecoder().decode(Report.self, from: response.body)
        }
        /// Polls (bounded) until `done` holds for the report; returns the last one.
        func wait(_ server: HeraldProcess, seconds: Int, until done: (Report) -> Bool) async throws -> Report? {
            var last: Report?
            for _ in 0..<(seconds * 20) {
                last = try await report(server)
                if let last, done(last) { return last }
                try await Task.sleep(for: .milliseconds(50))
            }
            return last
        }

        // First half: the events start the runs and the welcome goes out; killed once some are sent.
        let first = try await HeraldProcess.start(data: data, extraArguments: arguments)
        let partial = try await wait(first, seconds: 300) { $0.count("welcome", "sent") > 0 }
        first.signal(SIGKILL)
        _ = await first.exitStatus()
        #expect((partial?.count("welcome", "sent") ?? 0) < Self.customers, "killed mid-way: \(String(describing: partial?.count("welcome", "sent")))")

        // Restarted, with the clock past the killed node's leases (60 s): it finishes the first half.
        try setClock(120)
        let second = try await HeraldProcess.start(data: data, extraArguments: arguments)
        let waiting = try await wait(second, seconds: 600) { $0.runs["waiting"] == Self.customers }
        #expect(waiting?.entries == Self.customers)
        #expect(waiting?.count("welcome", "sent") == Self.customers)
        #expect(waiting?.count("pause", "waiting") == Self.customers)

        // Second half: an hour later the branch and the second send; killed once some are sent.
        try setClock(120 + 3_600)
        let partialBranch = try await wait(second, seconds: 300) { $0.count("gold", "sent") + $0.count("standard", "sent") > 0 }
        second.signal(SIGKILL)
        _ = await second.exitStatus()
        let sentBefore = (partialBranch?.count("gold", "sent") ?? 0) + (partialBranch?.count("standard", "sent") ?? 0)
        #expect(sentBefore < Self.customers, "killed mid-way: \(sentBefore)")

        try setClock(240 + 3_600)
        let third = try await HeraldProcess.start(data: data, extraArguments: arguments)
        let done = try await wait(third, seconds: 600) { $0.runs["completed"] == Self.customers }
        #expect(done?.runs == ["completed": Self.customers])
        #expect(done?.count("tier", "then") == Self.customers / 2 && done?.count("tier", "else") == Self.customers / 2)
        #expect(done?.count("gold", "sent") == Self.customers / 2 && done?.count("standard", "sent") == Self.customers / 2)
        #expect(done?.count("end", "exit") == Self.customers)
        #expect(await third.stop(with: SIGTERM) == 0)

        // What each customer received, read from the store: the welcome and their tier's message, once each.
        let directory = DataDirectory(path: data.path)
        let store = try directory.openStore(prepared: try directory.prepare(), durability: .normal, lock: try directory.lock())
        var wrong: [String] = []
        for index in 0..<Self.customers {
            let user = UserID(rawValue: "k\(index)")!
            let titles = try await store.inbox(of: user, in: appID, query: InboxQuery(limit: 10)).items.map(\.title).sorted()
            let expected = ["Welcome", index.isMultiple(of: 2) ? "Gold" : "Standard"].sorted()
            if titles != expected, wrong.count < 5 { wrong.append("\(user): \(titles)") }
        }
        try await store.close()
        #expect(wrong == [])
    }

    /// The templates, the journey, the customers and an `account.opened` event for each, written through
    /// the store before the server starts (20,000 API calls would take minutes in a debug build).
    static func seed(data: URL, app: AppID) async throws {
        let directory = DataDirectory(path: data.path)
        let store = try directory.openStore(prepared: try directory.prepare(), durability: .normal, lock: try directory.lock())
        for (key, title) in [("welcome", "Welcome"), ("gold", "Gold"), ("standard", "Standard")] {
            _ = try await store.putTemplate(TemplateKey(rawValue: key)!, TemplateDefinition(category: .transactional, title: title, body: "b"), in: app)
        }
        _ = try await store.putJourney(JourneyKey(rawValue: "kill-test")!, document: try JSONValue.parse(Data(journey.utf8)).canonicalData(), in: app)
        let now = WireTime.truncated(Date())
        for start in stride(from: 0, to: customers, by: 500) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in start..<min(start + 500, customers) {
                    group.addTask {
                        let user = UserID(rawValue: "k\(index)")!
                        _ = try await store.putUser(user, profile: UserProfile(metadata: ["tier": .string(index.isMultiple(of: 2) ? "gold" : "basic")]), in: app)
                        let event = CustomerEvent(id: .generate(at: now), user: user, name: "account.opened", properties: [:], occurredAt: now, recordedAt: now)
                        _ = try await store.recordEvent(event, app: app, idempotency: nil)
                    }
                }
                try await group.waitForAll()
            }
        }
        try await store.close()
    }
}
