import Foundation
import HeraldCore
import HeraldStore
import HeraldTestSupport
import Testing

@Suite("A fan-out killed with -9", .serialized)
struct FanOutKillTests {
    struct Report: Decodable {
        var status: String
        var recipients: Int
        var skipped: Int
    }

    static let recipients = 100_000

    @Test("A segment send to 100,000 customers, its server killed with -9 mid-fan-out, resumes after the restart: every recipient gets the item exactly once")
    func fanOutResumesAfterKill() async throws {
        let data = try EndToEndTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let app = try EndToEndTests.createApp(data: data)
        let appID = try #require(AppID(rawValue: app.appId))
        try await Self.seed(data: data, app: appID)

        let server = try await HeraldProcess.start(data: data)
        let body = #"{"segment":{"metadata":{"campaign":"scam-wave"}},"category":"security","content":{"title":"Scam calls","body":"We never ask for your code."}}"#
        let sent = try #require(await EndToEndTests.call(.POST, "\(server.baseURL)/v1/notifications", key: app.apiKey, body: body))
        #expect(sent.status == 201)
        let id = try #require(try JSONDecoder().decode([String: JSONValue].self, from: sent.body)["id"]).stringValue
        // The kill comes once some pages are committed and before the last (polled; bounded so that a
        // fan-out that never starts fails the test instead of holding the run).
        var before: Report?
        for _ in 0..<3_000 where before == nil {
            let response = try #require(await EndToEndTests.call(.GET, "\(server.baseURL)/v1/notifications/\(id)", key: app.apiKey))
            let report = try JSONDecoder().decode(Report.self, from: response.body)
            if report.recipients > 0 || report.status != "sending" {
                server.signal(SIGKILL)
                before = report
            } else {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        _ = await server.exitStatus()
        #expect(before?.status == "sending", "killed mid-fan-out: \(String(describing: before))")
        #expect((before?.recipients ?? 0) < Self.recipients)

        let restarted = try await HeraldProcess.start(data: data)
        // Polled until the resumed fan-out is done; bounded at two minutes, well under the 300 s lease the
        // killed run held: the restarted server must take the fan-out back at once, not when the lease ends.
        var after: Report?
        for _ in 0..<2_400 where after?.status != "sent" {
            let response = try #require(await EndToEndTests.call(.GET, "\(restarted.baseURL)/v1/notifications/\(id)", key: app.apiKey))
            after = try JSONDecoder().decode(Report.self, from: response.body)
            try #require(after?.status == "sending" || after?.status == "sent", "\(String(describing: after))")
            try await Task.sleep(for: .milliseconds(50))
        }
        // One item per recipient at most (a unique constraint), so as many items as recipients is one each.
        #expect(after?.recipients == Self.recipients && after?.skipped == 0, "\(String(describing: after))")
        let sample = try #require(await EndToEndTests.call(.POST, "\(restarted.baseURL)/v1/users/c99999/tokens", key: app.apiKey))
        let token = try #require(try JSONDecoder().decode([String: JSONValue].self, from: sample.body)["token"]).stringValue
        let inbox = try #require(await EndToEndTests.call(.GET, "\(restarted.baseURL)/v1/me/inbox", key: token))
        let page = try WireJSON.decoder().decode(InboxPage.self, from: inbox.body)
        #expect(page.items.map(\.title) == ["Scam calls"] && !page.items[0].jws.isEmpty)
        #expect(await restarted.stop(with: SIGTERM) == 0)
    }
}

extension FanOutKillTests {
    /// The customers, written through the store before the server starts (100,000 API calls would take
    /// minutes), without a flush per user: the fan-out is what is under test. The store, and with it the
    /// directory's lock, is gone when this returns.
    static func seed(data: URL, app: AppID) async throws {
        let directory = DataDirectory(path: data.path)
        let store = try directory.openStore(prepared: try directory.prepare(), durability: .normal, lock: try directory.lock())
        for start in stride(from: 0, to: recipients, by: 500) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in start..<min(start + 500, recipients) {
                    group.addTask {
                        _ = try await store.putUser(UserID(rawValue: "c\(index)")!, profile: UserProfile(metadata: ["campaign": .string("scam-wave")]), in: app)
                    }
                }
                try await group.waitForAll()
            }
        }
        try await store.close()
    }
}

extension JSONValue {
    fileprivate var stringValue: String {
        if case .string(let value) = self { return value }
        return ""
    }
}
