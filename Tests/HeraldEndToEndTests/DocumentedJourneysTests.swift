import Foundation
import HeraldCore
import HeraldStore
import HeraldTestSupport
import NIOHTTP1
import Synchronization
import Testing

/// The three worked journeys of `docs/journeys.md`, word for word, against the real binary on each
/// store backend, with the binary's clock moved by the test (`--test-clock-offset-file`) and the SMS
/// fallback sent to a loopback gateway that answers as Twilio would.
@Suite("The documented journeys, on the binary", .serialized)
struct DocumentedJourneysTests {
    enum Backend: String, CaseIterable, Sendable {
        case sqlite, postgres
    }

    struct NoToken: Error {
        var user: String
    }

    /// One running server and what the test needs to talk to it.
    struct Server: Sendable {
        let process: HeraldProcess
        let key: String
        let clock: URL

        func call(_ method: HTTPMethod, _ path: String, _ body: String? = nil, key: String? = nil) async -> (status: Int, body: Data)? {
            await EndToEndTests.call(method, process.baseURL + path, key: key ?? self.key, body: body)
        }

        func setClock(_ seconds: Int) throws { try "\(seconds)".write(to: clock, atomically: true, encoding: .utf8) }

        func token(for user: String) async throws -> String {
            let response = try #require(await call(.POST, "/v1/users/\(user)/tokens"))
            guard case .string(let token)? = try JSONDecoder().decode([String: JSONValue].self, from: response.body)["token"] else {
                throw NoToken(user: user)
            }
            return token
        }

        /// The customer's inbox titles, oldest first.
        func titles(of user: String) async throws -> [String] {
            try await inbox(of: user).map(\.title).reversed()
        }

        /// The customer's inbox, read with a fresh token. The server reads the clock file every 100 ms, so
        /// a token issued just before it sees a move of days is checked just after, and has expired: a
        /// 401 is asked again with a new token, a few times (a token refused every time is still a failure).
        func inbox(of user: String) async throws -> [InboxItem] {
            var response = try #require(await call(.GET, "/v1/me/inbox", key: try await token(for: user)))
            for _ in 0..<3 where response.status == 401 {
                response = try #require(await call(.GET, "/v1/me/inbox", key: try await token(for: user)))
            }
            try #require(response.status == 200, "\(response.status): \(String(decoding: response.body, as: UTF8.self))")
            return try WireJSON.decoder().decode(InboxPage.self, from: response.body).items
        }

        /// Polls (bounded at 30 s) until the customer's titles are `expected`; returns the last seen.
        @discardableResult
        func waitForTitles(of user: String, _ expected: [String]) async throws -> [String] {
            var last: [String] = []
            for _ in 0..<300 {
                last = try await titles(of: user)
                if last == expected { return last }
                try await Task.sleep(for: .milliseconds(100))
            }
            return last
        }
    }

    /// A gateway that answers Twilio's Messages API and keeps the `Body` of each message it was sent.
    final class Gateway: Sendable {
        let bodies = Mutex<[String]>([])

        var handler: LoopbackHTTPSServer.Handler {
            { [self] request in
                let form = String(decoding: request.body, as: UTF8.self).split(separator: "&").compactMap { pair -> (String, String)? in
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2, let value = parts[1].removingPercentEncoding else { return nil }
                    return (String(parts[0]), value)
                }
                if let body = form.first(where: { $0.0 == "Body" })?.1 { bodies.withLock { $0.append(body) } }
                return ScriptedResponse(.created, json: #"{"sid":"SM1","status":"queued"}"#)
            }
        }
    }

    private func withServer(_ backend: Backend, gateway: Gateway, _ body: @escaping @Sendable (Server, URL) async throws -> Void) async throws {
        let data = try EndToEndTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let certificates = try TestCertificates(directory: data)
        let clock = data.appendingPathComponent("clock")
        try "0".write(to: clock, atomically: true, encoding: .utf8)
        // The polling below reads one customer's inbox ten times a second: above the default per-customer rate.
        let arguments = [
            "--test-clock-offset-file", clock.path, "--allow-private-targets", "--extra-ca-file", certificates.caFile, "--user-rate", "1000",
        ]
        try await LoopbackHTTPSServer.run(certificates: certificates, handle: gateway.handler) { gatewayServer in
            switch backend {
            case .sqlite:
                let app = try EndToEndTests.createApp(data: data)
                let process = try await HeraldProcess.start(data: data, extraArguments: arguments)
                try await body(Server(process: process, key: app.apiKey, clock: clock), gatewayServer.baseURL)
                #expect(await process.stop(with: SIGTERM) == 0)
            case .postgres:
                let (url, drop) = try await PostgresTestServer.freshDatabase()
                let masterKey = MasterKey.generate().base64
                let database = "postgres://\(url.username)@\(url.host):\(url.port)/\(url.database)"
                do {
                    let (status, output) = try HeraldProcess.command(
                        ["apps", "create", "--name", "Acme", "--database", database, "--json"], environment: ["HERALD_MASTER_KEY": masterKey])
                    #expect(status == 0)
                    let app = try JSONDecoder().decode(EndToEndTests.Created.self, from: Data(output.utf8))
                    let process = try await HeraldProcess.start(database: database, masterKey: masterKey, extraArguments: arguments)
                    try await body(Server(process: process, key: app.apiKey, clock: clock), gatewayServer.baseURL)
                    #expect(await process.stop(with: SIGTERM) == 0)
                } catch {
                    await drop()
                    throw error
                }
                await drop()
            }
        }
    }

    @Test("Onboarding, the fraud alert with its SMS, and the low-balance offer, as written, on each backend", arguments: Backend.allCases)
    func documentedJourneys(backend: Backend) async throws {
        let gateway = Gateway()
        try await withServer(backend, gateway: gateway) { server, gatewayURL in
            for (key, template) in [
                ("welcome", #"{"category":"transactional","title":"Welcome","body":"Your plan: {{plan}}"}"#),
                ("complete-profile", #"{"category":"transactional","title":"Complete your profile","body":"b"}"#),
                ("complete-profile-last", #"{"category":"transactional","title":"Last reminder","body":"b"}"#),
                ("fraud-alert", #"{"category":"security","title":"Card payment of {{amount}} EUR at {{merchant}}","body":"Was this you?","actions":[{"id":"confirm","label":"It was me"},{"id":"decline","label":"Not me"}]}"#),
                ("monitoring-offer", #"{"category":"security","title":"Turn on account monitoring","body":"b"}"#),
                ("overdraft-offer", #"{"category":"marketing","title":"Overdraft protection","body":"Your balance is {{balance}} EUR"}"#),
            ] {
                #expect(await server.call(.PUT, "/v1/templates/\(key)", template)?.status == 201)
            }
            // Customers created before the journeys (onboarding starts for those created after).
            #expect(await server.call(.PUT, "/v1/users/ana", #"{"phone":"+4915112345678"}"#)?.status == 201)
            #expect(await server.call(.PUT, "/v1/users/ben", #"{"phone":"+4915187654321"}"#)?.status == 201)
            for name in ["onboarding", "fraud-alert", "low-balance"] {
                let put = await server.call(.PUT, "/v1/journeys/\(name)", try DocumentedJourney.named(name))
                #expect(put?.status == 201, "\(name): \(String(decoding: put?.body ?? Data(), as: UTF8.self))")
            }
            #expect(
                await server.call(.PUT, "/v1/fallback/sms", #"{"accountSid":"AC1","authToken":"t","from":"AcmeBank","baseUrl":"\#(gatewayURL.absoluteString)"}"#)?
                    .status == 200)

            // Onboarding: created customers get the welcome at once (eve will complete her profile).
            for name in ["eve", "fay"] {
                #expect(await server.call(.PUT, "/v1/users/\(name)", #"{"metadata":{"plan":"gold"}}"#)?.status == 201)
            }
            #expect(try await server.waitForTitles(of: "eve", ["Welcome"]) == ["Welcome"])
            #expect(try await server.waitForTitles(of: "fay", ["Welcome"]) == ["Welcome"])

            // The fraud alert: ana declines and is offered monitoring; ben does not read, and gets the SMS.
            for (name, amount) in [("ana", 250), ("ben", 900)] {
                let event = #"{"userId":"\#(name)","name":"card.suspicious","properties":{"amount":\#(amount),"merchant":"Qwertz"}}"#
                #expect(await server.call(.POST, "/v1/events", event)?.status == 201)
            }
            try await server.waitForTitles(of: "ana", ["Card payment of 250 EUR at Qwertz"])
            let alert = try #require(try await server.inbox(of: "ana").first)
            let declined = await server.call(.POST, "/v1/me/inbox/\(alert.id)/actions/decline", "{}", key: try await server.token(for: "ana"))
            #expect(declined?.status == 200)
            #expect(try await server.waitForTitles(of: "ana", ["Card payment of 250 EUR at Qwertz", "Turn on account monitoring"]).count == 2)
            let benAlert = try #require(try await server.inbox(of: "ben").first)
            try server.setClock(11 * 60)
            var sms: [String] = []
            for _ in 0..<300 where sms.isEmpty {
                sms = gateway.bodies.withLock { $0 }
                if sms.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(sms == ["Acme Bank has a secure message for you in the Acme app. Reference \(benAlert.reference)."])

            // Low balance: only to the customer who consented, once a week.
            let ana = try await server.token(for: "ana")
            #expect(await server.call(.PUT, "/v1/me/preferences", #"{"consents":{"marketing":true}}"#, key: ana)?.status == 200)
            for name in ["ana", "ben", "ana"] {
                #expect(await server.call(.POST, "/v1/events", #"{"userId":"\#(name)","name":"balance.low","properties":{"balance":42}}"#)?.status == 201)
            }
            #expect(try await server.waitForTitles(of: "ana", ["Card payment of 250 EUR at Qwertz", "Turn on account monitoring", "Overdraft protection"]).last
                == "Overdraft protection")

            // Onboarding goes on: eve completes her profile and leaves; fay gets the reminder two days after
            // her welcome, and the last nudge five days after that, not having read it.
            #expect(await server.call(.POST, "/v1/events", #"{"userId":"eve","name":"profile.completed"}"#)?.status == 201)
            try server.setClock(2 * 86_400 + 15 * 60)
            #expect(try await server.waitForTitles(of: "fay", ["Welcome", "Complete your profile"]) == ["Welcome", "Complete your profile"])
            try server.setClock(7 * 86_400 + 30 * 60)
            #expect(try await server.waitForTitles(of: "fay", ["Welcome", "Complete your profile", "Last reminder"]).last == "Last reminder")
            #expect(try await server.titles(of: "eve") == ["Welcome"], "eve left on profile.completed")
            #expect(try await server.titles(of: "ben").filter { $0 == "Overdraft protection" }.isEmpty, "ben did not consent")

            let report = try #require(await server.call(.GET, "/v1/journeys/low-balance/report"))
            let text = String(decoding: report.body, as: UTF8.self)
            #expect(text.contains(#""entries":2"#), "ana once (the second event within the week starts nothing), ben once: \(text)")
        }
    }
}
