import Foundation
import HTTPTypes
import HeraldCore
import HeraldLoopback
@testable import HeraldServer
import HeraldStore
import HeraldTestSupport
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// The phishing-safe fallback, end to end: a security alert not read in time reaches the customer by
/// SMS (a loopback gateway that checks every request as Twilio would) and e-mail (a real SMTP server,
/// STARTTLS and authentication required), saying only that a message waits in the app and its
/// reference, which the app shows next to the item.
@Suite("Journeys: the fallback outside the app")
struct FallbackTests {
    static let accountSid = "AC0123456789abcdef"
    static let token = "gateway-token-1"
    static let text = "Acme Bank has a secure message for you in the Acme app. Reference {{reference}}."

    static let journey = """
        {"name":"Card alert","category":"security","trigger":{"event":"card.suspicious"},"entry":{"always":true},
         "steps":[
           {"id":"alert","send":{"template":"card-alert","variables":{"amount":"event.properties.amount","merchant":"event.properties.merchant"}}},
           {"id":"unread","waitFor":{"item":"alert","state":"read","timeout":"10m","onTimeout":"sms"},"next":"done"},
           {"id":"sms","fallback":{"item":"alert","channel":"sms","text":"\(text)"}},
           {"id":"mail","fallback":{"item":"alert","channel":"email","subject":"A secure message from Acme Bank","text":"\(text)"}},
           {"id":"done","exit":{}}]}
        """

    /// A gateway that answers like Twilio's Messages API and records what it was sent, refusing
    /// anything that is not a well-formed, authenticated request for the account.
    final class Gateway: Sendable {
        let violations = Mutex<[String]>([])
        let bodies = Mutex<[[String: String]]>([])
        let script = Mutex<[Int]>([])

        var handler: LoopbackHTTPSServer.Handler {
            { [self] request in
                var problems: [String] = []
                if request.method != .post { problems.append("method \(request.method)") }
                if request.path != "/2010-04-01/Accounts/\(FallbackTests.accountSid)/Messages.json" { problems.append("path \(request.path)") }
                let basic = "Basic " + Data("\(FallbackTests.accountSid):\(FallbackTests.token)".utf8).base64EncodedString()
                if request.header("Authorization") != basic { problems.append("authorization") }
                if request.header("Content-Type") != "application/x-www-form-urlencoded" { problems.append("content type") }
                let form = Self.form(String(decoding: request.body, as: UTF8.self))
                if form == nil { problems.append("body is not a form") }
                violations.withLock { $0 += problems }
                if let form { bodies.withLock { $0.append(form) } }
                let status = script.withLock { $0.isEmpty ? 201 : $0.removeFirst() }
                if status == 201 { return ScriptedResponse(.created, json: #"{"sid":"SM1","status":"queued"}"#) }
                return ScriptedResponse(HTTPResponse.Status(code: status), json: #"{"code":21211,"message":"The 'To' number +4915100000000 is not valid."}"#)
            }
        }

        static func form(_ text: String) -> [String: String]? {
            var fields: [String: String] = [:]
            for pair in text.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, let name = parts[0].removingPercentEncoding, let value = parts[1].removingPercentEncoding else { return nil }
                fields[name] = value
            }
            return fields
        }
    }

    struct Setting {
        let harness: TestHarness
        let client: TestClient
        let clock: TestClock
        let gateway: Gateway
        let smtp: SMTPTestServer

        func request(_ method: HTTPRequest.Method, _ path: String, _ body: String? = nil) async throws -> TestResponse {
            try await client.request(method, path, auth: harness.apiKey, body: body)
        }

        func settle() async throws {
            let worker = harness.parts.journeyWorker()
            for _ in 0..<50 where try await worker.runOnce() > 0 {}
        }

        func sendFallbacks() async throws -> Int {
            let worker = try harness.parts.fallbackWorker()
            do {
                let sent = try await worker.runOnce()
                await worker.shutdown()
                return sent
            } catch {
                await worker.shutdown()
                throw error
            }
        }

        func alert(for user: String) async throws -> InboxItem {
            try #require(try await harness.store.inbox(of: harness.user(user), in: harness.app, query: InboxQuery()).items.last)
        }
    }

    private func with(smtpReply: String = "250 OK", _ body: @escaping @Sendable (Setting) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-fallback-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificates = try TestCertificates(directory: directory)
        let smtp = try SMTPTestServer(certificateFile: certificates.serverCertificateFile, keyFile: certificates.serverKeyFile, directory: directory, reply: smtpReply)
        defer { smtp.stop() }
        let gateway = Gateway()
        let clock = TestClock("2026-12-01T09:00:00Z")
        try await LoopbackHTTPSServer.run(certificates: certificates, handle: gateway.handler) { server in
            try await TestHarness.with(clock: clock, configure: { configuration in
                configuration.extraCAFile = certificates.caFile
                configuration.allowsPrivateTargets = true
            }) { harness in
                try await harness.run { client in
                    let setting = Setting(harness: harness, client: client, clock: clock, gateway: gateway, smtp: smtp)
                    let sms = try await setting.request(
                        .put, "/v1/fallback/sms", #"{"accountSid":"\#(Self.accountSid)","authToken":"\#(Self.token)","from":"AcmeBank","baseUrl":"\#(server.baseURL.absoluteString)"}"#)
                    #expect(sms.status == .ok, "\(sms.text)")
                    let email = try await setting.request(
                        .put, "/v1/fallback/email",
                        #"{"host":"127.0.0.1","port":\#(smtp.port),"username":"\#(smtp.user)","password":"\#(smtp.password)","from":"notices@acme.example","fromName":"Acme Bank"}"#)
                    #expect(email.status == .ok, "\(email.text)")
                    #expect(try await setting.request(.put, "/v1/users/ana", #"{"name":"Ana","phone":"+4915112345678","email":"ana@example.com"}"#).status == .ok)
                    let template = try await setting.request(
                        .put, "/v1/templates/card-alert",
                        #"{"category":"security","title":"Card payment of {{amount}} EUR at {{merchant}}","body":"Was this you? Call us on +49 30 1234567 if not."}"#)
                    #expect(template.status == .created, "\(template.text)")
                    let journey = try await setting.request(.put, "/v1/journeys/card-alert", Self.journey)
                    #expect(journey.status == .created, "\(journey.text)")
                    try await body(setting)
                }
            }
        }
    }

    @Test("Unread after 10 minutes: an SMS and an e-mail with the reference the app shows, and no content, link or number")
    func unreadAlertFallsBack() async throws {
        try await with { setting in
            let event = try await setting.request(.post, "/v1/events", #"{"userId":"ana","name":"card.suspicious","properties":{"amount":250,"merchant":"Qwertz Shop"}}"#)
            #expect(event.status == .created)
            try await setting.settle()
            let alert = try await setting.alert(for: "ana")
            #expect(alert.title == "Card payment of 250 EUR at Qwertz Shop")
            setting.clock.advance(by: 9 * 60)
            try await setting.settle()
            #expect(try await setting.sendFallbacks() == 0, "not yet")
            setting.clock.advance(by: 60)
            try await setting.settle()
            #expect(try await setting.sendFallbacks() == 2)

            // What the app shows next to the item is what the messages say.
            let token = try await setting.harness.token(for: "ana")
            let page = try await setting.client.request(.get, "/v1/me/inbox", auth: token)
            #expect(page.text.contains(#""reference":"\#(alert.reference)""#))
            let expected = "Acme Bank has a secure message for you in the Acme app. Reference \(alert.reference)."

            #expect(setting.gateway.violations.withLock { $0 } == [])
            let sms = try #require(setting.gateway.bodies.withLock { $0 }.first)
            #expect(sms == ["To": "+4915112345678", "From": "AcmeBank", "Body": expected])
            let mail = try #require(setting.smtp.messages.first)
            #expect(mail.tls && mail.authenticated)
            #expect(mail.from == "notices@acme.example" && mail.to == ["ana@example.com"])
            #expect(mail.header("Subject") == "A secure message from Acme Bank")
            #expect(mail.header("From") == "\"Acme Bank\" <notices@acme.example>")
            #expect(mail.text == expected)
            for text in [sms["Body"] ?? "", mail.data, mail.text ?? ""] {
                // The reference aside: four random digits may spell the amount ("Reference 3250").
                let rest = text.replacingOccurrences(of: "Reference \(alert.reference)", with: "")
                for content in ["Qwertz", "250", "EUR", "http", "www.", "+49", "1234567", "Was this you"] {
                    #expect(!rest.contains(content), "a fallback carries \(content)")
                }
            }

            let log = try await setting.request(.get, "/v1/fallback/deliveries")
            #expect(log.status == .ok)
            let deliveries = try log.decode(DeliveryLog.self).deliveries
            #expect(Set(deliveries.map(\.channel)) == ["sms", "email"])
            #expect(deliveries.allSatisfy { $0.outcome == "sent" && $0.itemId == alert.id.rawValue })
            #expect(!log.text.contains("Reference"), "the log keeps what became of a message, not its text")
            let report = try await setting.request(.get, "/v1/journeys/card-alert/report")
            #expect(report.text.contains(#""queued":1"#))
        }
    }

    @Test("Read in time, nothing is sent; read after the step queued it but before it went out, nothing is sent either")
    func readItemsAreNotFollowedUp() async throws {
        try await with { setting in
            _ = try await setting.request(.post, "/v1/events", #"{"userId":"ana","name":"card.suspicious","properties":{"amount":1,"merchant":"A"}}"#)
            _ = try await setting.request(.post, "/v1/events", #"{"userId":"ben","name":"card.suspicious","properties":{"amount":2,"merchant":"B"}}"#)
            _ = try await setting.request(.post, "/v1/events", #"{"userId":"cat","name":"card.suspicious","properties":{"amount":3,"merchant":"C"}}"#)
            try await setting.settle()
            let token = try await setting.harness.token(for: "ana")
            #expect(try await setting.client.request(.post, "/v1/me/inbox/\(try await setting.alert(for: "ana").id)/read", auth: token).status == .ok)
            setting.clock.advance(by: 600)
            try await setting.settle()
            // Ben's fallbacks are queued; he reads before the worker sends them.
            let benToken = try await setting.harness.token(for: "ben")
            #expect(try await setting.client.request(.post, "/v1/me/inbox/\(try await setting.alert(for: "ben").id)/read", auth: benToken).status == .ok)
            // Cat archives hers unread: no longer in her inbox, nothing to point at.
            let catToken = try await setting.harness.token(for: "cat")
            #expect(try await setting.client.request(.post, "/v1/me/inbox/\(try await setting.alert(for: "cat").id)/archive", auth: catToken).status == .ok)
            #expect(try await setting.sendFallbacks() == 4)
            #expect(setting.gateway.bodies.withLock { $0 }.isEmpty)
            #expect(setting.smtp.messages.isEmpty)
            let deliveries = try (try await setting.request(.get, "/v1/fallback/deliveries")).decode(DeliveryLog.self).deliveries
            #expect(deliveries.map(\.outcome) == ["not_needed", "not_needed", "not_needed", "not_needed"])
            #expect(Set(deliveries.map(\.userId)) == ["ben", "cat"])
        }
    }

    @Test("A busy gateway is tried again later; a refusing one is given up at once; an SMTP refusal fails the e-mail")
    func failuresAreRetriedOrGivenUp() async throws {
        try await with(smtpReply: "554 Transaction failed") { setting in
            setting.gateway.script.withLock { $0 = [503] }
            _ = try await setting.request(.post, "/v1/events", #"{"userId":"ana","name":"card.suspicious","properties":{"amount":1,"merchant":"A"}}"#)
            try await setting.settle()
            setting.clock.advance(by: 600)
            try await setting.settle()
            #expect(try await setting.sendFallbacks() == 2)
            var deliveries = try (try await setting.request(.get, "/v1/fallback/deliveries")).decode(DeliveryLog.self).deliveries
            #expect(Set(deliveries.map { "\($0.channel) \($0.outcome) \($0.statusCode ?? 0)" }) == ["sms retrying 503", "email failed 554"])
            setting.clock.advance(by: 3_600)
            #expect(try await setting.sendFallbacks() == 1)
            deliveries = try (try await setting.request(.get, "/v1/fallback/deliveries")).decode(DeliveryLog.self).deliveries
            #expect(deliveries.first.map { "\($0.channel) \($0.outcome) \($0.attempt)" } == "sms sent 2")
            #expect(setting.gateway.bodies.withLock { $0 }.count == 2)
            #expect(!(try await setting.request(.get, "/v1/fallback/deliveries")).text.contains("+49"), "the gateway's message is not kept")
        }
    }

    @Test("Fallback texts with a link, a phone number or another variable are refused, as is a fallback in marketing")
    func unsafeTextsAreRefused() async throws {
        try await with { setting in
            for (text, reason) in [
                ("Open https://acme.example to read. Reference {{reference}}.", "link_not_allowed"),
                ("Open acme-bank.com to read. Reference {{reference}}.", "link_not_allowed"),
                ("Call +49 30 1234567. Reference {{reference}}.", "invalid_value"),
                ("Call 030 123 45 67. Reference {{reference}}.", "invalid_value"),
                ("Dear {{name}}, Reference {{reference}}.", "invalid_value"),
                ("A secure message waits for you in the app.", "invalid_value"),
            ] {
                let body = """
                    {"name":"x","category":"security","trigger":{"event":"x"},"steps":[{"id":"alert","send":{"template":"card-alert"}},
                     {"id":"sms","fallback":{"item":"alert","channel":"sms","text":"\(text)"}}]}
                    """
                let response = try await setting.request(.put, "/v1/journeys/x", body)
                #expect(response.status == .unprocessableContent, "\(text)")
                #expect(response.problem?.errors?.map(\.field) == ["steps[1].fallback.text"], "\(text)")
                #expect(response.problem?.errors?.map(\.reason.rawValue) == [reason], "\(text)")
            }
            #expect(try await setting.request(.put, "/v1/templates/promo", #"{"category":"marketing","title":"Promo","body":"b"}"#).status == .created)
            for (path, body, field) in [
                ("/v1/fallback/sms", #"{"accountSid":"AC1","authToken":"t","from":"Call0800123"}"#, "from"),
                ("/v1/fallback/email", #"{"host":"smtp.acme.example","username":"u","password":"p","from":"n@acme.example","fromName":"acme-secure.example"}"#, "fromName"),
                ("/v1/fallback/email", #"{"host":"smtp.acme.example","username":"u","password":"p","from":"n@acme.example","fromName":"Call 0800 123 456"}"#, "fromName"),
            ] {
                let response = try await setting.request(.put, path, body)
                #expect(response.problem?.errors?.map(\.field) == [field], "\(body)")
            }
            let marketing = """
                {"name":"x","category":"marketing","trigger":{"event":"x"},"steps":[{"id":"alert","send":{"template":"promo"}},
                 {"id":"sms","fallback":{"item":"alert","channel":"sms","text":"\(Self.text)"}}]}
                """
            let response = try await setting.request(.put, "/v1/journeys/x", marketing)
            #expect(response.problem?.errors?.map(\.field) == ["steps[1].fallback"])
        }
    }

    static func policy(_ policies: String) -> String { #"{"fallback":{"security":[\#(policies)]}}"# }
    static let smsPolicy = #"{"unreadAfter":"10m","channel":"sms","text":"\#(text)"}"#

    @Test("A category's policy: a security item unread after 10 minutes gets the SMS; a read one, a transactional one, and one whose policy was removed get none")
    func categoryPolicyFallsBack() async throws {
        try await with { setting in
            #expect(try await setting.request(.put, "/v1/settings", Self.policy(Self.smsPolicy)).status == .ok)
            #expect(try await setting.request(.put, "/v1/users/ben", #"{"phone":"+4915187654321"}"#).status == .ok)
            #expect(try await setting.request(.put, "/v1/templates/statement", #"{"category":"transactional","title":"Statement","body":"b"}"#).status == .created)
            let alert = #"{"recipients":["ana","ben"],"template":"card-alert","variables":{"amount":5,"merchant":"Shop"}}"#
            #expect(try await setting.request(.post, "/v1/notifications", alert).status == .created)
            #expect(try await setting.request(.post, "/v1/notifications", #"{"recipients":["ana"],"template":"statement"}"#).status == .created)
            let anaAlert = try #require(try await setting.harness.store.inbox(of: setting.harness.user("ana"), in: setting.harness.app, query: InboxQuery()).items
                .first { $0.category == .security })
            let benToken = try await setting.harness.token(for: "ben")
            #expect(try await setting.client.request(.post, "/v1/me/inbox/\(try await setting.alert(for: "ben").id)/read", auth: benToken).status == .ok)

            setting.clock.advance(by: 9 * 60)
            #expect(try await setting.sendFallbacks() == 0, "not yet")
            setting.clock.advance(by: 60)
            #expect(try await setting.sendFallbacks() == 2, "ana's and ben's; none for the transactional item")
            #expect(setting.gateway.violations.withLock { $0 } == [])
            #expect(
                setting.gateway.bodies.withLock { $0 } == [
                    ["To": "+4915112345678", "From": "AcmeBank", "Body": "Acme Bank has a secure message for you in the Acme app. Reference \(anaAlert.reference)."]
                ])
            var deliveries = try (try await setting.request(.get, "/v1/fallback/deliveries")).decode(DeliveryLog.self).deliveries
            #expect(Set(deliveries.map { "\($0.userId) \($0.outcome)" }) == ["ana sent", "ben not_needed"])

            // The policy removed after the send: its row finds nothing to send.
            #expect(try await setting.request(.post, "/v1/notifications", #"{"recipients":["ana"],"template":"card-alert","variables":{"amount":6,"merchant":"Shop"}}"#).status == .created)
            let removed = try await setting.request(.put, "/v1/settings", #"{"fallback":{"security":null}}"#)
            #expect(removed.status == .ok && !removed.text.contains("unreadAfter"), "\(removed.text)")
            setting.clock.advance(by: 600)
            #expect(try await setting.sendFallbacks() == 1)
            #expect(setting.gateway.bodies.withLock { $0 }.count == 1)
            deliveries = try (try await setting.request(.get, "/v1/fallback/deliveries")).decode(DeliveryLog.self).deliveries
            #expect(deliveries.first?.outcome == "not_needed")
            #expect(try await setting.sendFallbacks() == 0)
        }
    }

    @Test("A journey's fallback and the category's policy due together for one item send one SMS, not two")
    func journeyAndPolicySendOnce() async throws {
        try await with { setting in
            #expect(try await setting.request(.put, "/v1/settings", Self.policy(Self.smsPolicy)).status == .ok)
            let event = try await setting.request(.post, "/v1/events", #"{"userId":"ana","name":"card.suspicious","properties":{"amount":1,"merchant":"A"}}"#)
            #expect(event.status == .created)
            try await setting.settle()
            setting.clock.advance(by: 600)
            try await setting.settle()
            #expect(try await setting.sendFallbacks() == 3, "the journey's SMS and e-mail, and the policy's SMS")
            #expect(setting.gateway.bodies.withLock { $0 }.count == 1)
            #expect(setting.smtp.messages.count == 1)
            let deliveries = try (try await setting.request(.get, "/v1/fallback/deliveries")).decode(DeliveryLog.self).deliveries
            #expect(deliveries.map { "\($0.channel) \($0.outcome)" }.sorted() == ["email sent", "sms not_needed", "sms sent"])
        }
    }

    @Test("Fallback policies with an unsafe text, for marketing, twice on one channel or an e-mail without subject are refused; null removes one")
    func unsafePoliciesAreRefused() async throws {
        try await with { setting in
            for (body, fields) in [
                (Self.policy(#"{"unreadAfter":"10m","channel":"sms","text":"See https://acme.example {{reference}}"}"#), ["fallback.security[0].text"]),
                (Self.policy(#"{"unreadAfter":"10m","channel":"sms","text":"Call 0800 123 456 {{reference}}"}"#), ["fallback.security[0].text"]),
                (Self.policy(#"{"unreadAfter":"10m","channel":"sms","text":"Hello {{name}} {{reference}}"}"#), ["fallback.security[0].text"]),
                (Self.policy(#"{"unreadAfter":"soon","channel":"sms","text":"\#(Self.text)"}"#), ["fallback.security[0].unreadAfter"]),
                (Self.policy(#"{"unreadAfter":"10m","channel":"email","text":"\#(Self.text)"}"#), ["fallback.security[0].subject"]),
                (Self.policy(#"{"unreadAfter":"10m","channel":"fax","text":"\#(Self.text)"}"#), ["fallback.security[0].channel"]),
                (Self.policy(Self.smsPolicy + "," + Self.smsPolicy), ["fallback.security[1].channel"]),
                (#"{"fallback":{"marketing":[\#(Self.smsPolicy)]}}"#, ["fallback.marketing"]),
                (#"{"fallback":{"security":[\#(Self.smsPolicy)],"chat":[]}}"#, ["fallback.chat"]),
            ] {
                let response = try await setting.request(.put, "/v1/settings", body)
                #expect(response.status == .unprocessableContent, "\(body)")
                #expect(response.problem?.errors?.map(\.field) == fields, "\(body): \(response.text)")
            }
            #expect(!(try await setting.request(.get, "/v1/settings")).text.contains("unreadAfter"), "nothing refused was kept")
            let both = Self.policy(Self.smsPolicy + #",{"unreadAfter":"1h","channel":"email","subject":"A secure message","text":"\#(Self.text)"}"#)
            #expect(try await setting.request(.put, "/v1/settings", both).status == .ok)
            let stored = try await setting.request(.get, "/v1/settings")
            #expect(stored.text.contains(#""unreadAfter":"1h""#) && stored.text.contains(#""unreadAfter":"10m""#), "\(stored.text)")
            #expect(try await setting.request(.put, "/v1/settings", #"{"fallback":{"security":null}}"#).status == .ok)
            #expect(!(try await setting.request(.get, "/v1/settings")).text.contains("unreadAfter"))
        }
    }

    struct DeliveryLog: Decodable {
        struct Entry: Decodable {
            var userId: String
            var itemId: String
            var channel: String
            var attempt: Int
            var outcome: String
            var statusCode: Int?
        }

        var deliveries: [Entry]
    }
}
