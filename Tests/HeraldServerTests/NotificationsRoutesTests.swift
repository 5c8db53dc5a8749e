import Foundation
import HTTPTypes
import HeraldCore
@testable import HeraldServer
import HeraldStore
import JWTKit
import Testing

/// The payload of an inbox item's JWS as JWTKit reads it: the independent check of the signature.
struct SignedItemClaims: JWTPayload, Equatable {
    var kind: String
    var appId: String
    var id: String
    var recipient: String
    var category: String
    var title: String
    var body: String
    var createdAt: String

    func verify(using algorithm: some JWTAlgorithm) throws {}
}

struct SentNotification: Decodable {
    var id: NotificationID
    var recipients: Int
    var skipped: Int
    var status: String
}

extension TestClient {
    func inbox(_ token: String, query: String = "") async throws -> InboxPage {
        try await request(.get, "/v1/me/inbox\(query)", auth: token).decode(InboxPage.self)
    }
}

@Suite("Notifications")
struct NotificationsRoutesTests {
    static let fraudAlert = #"""
        {"category": "security", "title": "Card ending {{last4}}", "body": "Did you pay {{amount}} at {{merchant}}?",
         "localizations": {"ko": {"title": "{{last4}} 카드", "body": "{{merchant}}에서 {{amount}} 결제하셨나요?"}},
         "actions": [{"id": "approve", "label": "It was me", "stepUp": true}, {"id": "decline", "label": "Not me"}]}
        """#

    @Test("Literal content reaches each recipient's inbox, signed; the report counts it")
    func literalContent() async throws {
        try await TestHarness.with { harness in
            let ana = try await harness.token(for: "ana")
            try await harness.run { client in
                let response = try await client.request(
                    .post, "/v1/notifications", auth: harness.apiKey,
                    body: #"{"recipients":["ana","ben"],"category":"transactional","content":{"title":"Statement ready","body":"Your November statement is ready."},"data":{"month":"2026-11"}}"#)
                let sent = try response.decode(SentNotification.self)
                let page = try await client.inbox(ana)
                let published = try await client.request(.get, "/v1/apps/\(harness.app)/keys").text
                let report = try await client.request(.get, "/v1/notifications/\(sent.id)", auth: harness.apiKey).decode(NotificationReport.self)

                #expect(response.status == .created)
                #expect(sent.recipients == 2 && sent.skipped == 0 && sent.status == "sent")
                let item = try #require(page.items.first)
                #expect(page.items.count == 1 && page.unreadCount == 1)
                #expect(item.title == "Statement ready" && item.data == ["month": .string("2026-11")])
                let claims = try await VerifiedSenderTests.verifyIndependently(item.jws, publishedKeys: published, as: SignedItemClaims.self)
                #expect(claims == SignedItemClaims(
                    kind: "inbox", appId: harness.app.rawValue, id: item.id.rawValue, recipient: "ana", category: "transactional",
                    title: "Statement ready", body: "Your November statement is ready.", createdAt: WireTime.format(item.createdAt)))
                #expect(report.recipients == 2 && report.delivered == 1 && report.read == 0 && report.acted == 0)
            }
        }
    }

    @Test("A template is rendered in each recipient's locale and the version used is recorded")
    func templateLocales() async throws {
        try await TestHarness.with { harness in
            _ = try await harness.store.putUser(harness.user("ana"), profile: UserProfile(name: "Ana", locale: "ko-KR"), in: harness.app)
            let (ana, ben) = (try await harness.token(for: "ana"), try await harness.token(for: "ben"))
            try await harness.run { client in
                _ = try await client.request(.put, "/v1/templates/fraud-alert", auth: harness.apiKey, body: Self.fraudAlert)
                let sent = try await client.request(
                    .post, "/v1/notifications", auth: harness.apiKey,
                    body: #"{"recipients":["ana","ben"],"template":"fraud-alert","variables":{"last4":"4242","amount":"€120","merchant":"Café"}}"#
                ).decode(SentNotification.self)
                _ = try await client.request(.put, "/v1/templates/fraud-alert", auth: harness.apiKey, body: Self.fraudAlert)

                let korean = try #require(try await client.inbox(ana).items.first)
                let english = try #require(try await client.inbox(ben).items.first)
                let report = try await client.request(.get, "/v1/notifications/\(sent.id)", auth: harness.apiKey).decode(NotificationReport.self)

                #expect(korean.title == "4242 카드" && korean.body == "Café에서 €120 결제하셨나요?")
                #expect(english.title == "Card ending 4242" && english.category == .security)
                #expect(english.actions?.map(\.id) == ["approve", "decline"] && english.actions?.first?.stepUp == true)
                #expect(report.template == TemplateKey(rawValue: "fraud-alert") && report.templateVersion == 1)
            }
        }
    }

    @Test("Refused sends name the problem and store nothing", arguments: [
        (#"{"recipients":["ana"],"template":"fraud-alert","variables":{"last4":"1"}}"#, "variables.amount", "missing_variable"),
        (#"{"recipients":["ana"],"template":"nope"}"#, "template", "invalid_value"),
        (#"{"recipients":["ana","zed"],"category":"security","content":{"title":"t","body":"b"}}"#, "recipients", "unknown_user"),
        (#"{"recipients":["ana"],"category":"security","content":{"title":"Alert","body":"Verify at acme-bank.example/login"}}"#, "content.body", "link_not_allowed"),
        (#"{"recipients":["ana"],"template":"fraud-alert","variables":{"last4":"1","amount":"2","merchant":"evil.example"}}"#, "variables", "link_not_allowed"),
        (#"{"recipients":["ana"],"template":"fraud-alert","content":{"title":"t","body":"b"}}"#, "content", "invalid_value"),
        (#"{"category":"security","content":{"title":"t","body":"b"}}"#, "recipients", "required"),
        (#"{"recipients":["ana"],"category":"sms","content":{"title":"t","body":"b"},"expiresAt":"2000-01-01T00:00:00Z"}"#, "category", "invalid_value"),
    ] as [(String, String, String)])
    func refusedSends(body: String, field: String, reason: String) async throws {
        try await TestHarness.with { harness in
            let ana = try await harness.token(for: "ana")
            try await harness.run { client in
                _ = try await client.request(.put, "/v1/templates/fraud-alert", auth: harness.apiKey, body: Self.fraudAlert)

                let response = try await client.request(.post, "/v1/notifications", auth: harness.apiKey, body: body)

                #expect(response.status == .unprocessableContent)
                #expect(response.problem?.errors?.contains { $0.field == field && $0.reason.rawValue == reason } == true, "\(response.text)")
                #expect(try await client.inbox(ana).items.isEmpty)
            }
        }
    }

    @Test("Marketing may link anywhere; security content to an allowed domain passes")
    func linkPolicyByCategory() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                _ = try await client.request(.put, "/v1/settings", auth: harness.apiKey, body: #"{"linkPolicy":{"allowedDomains":["acme.example"]}}"#)
                let security = try await client.request(
                    .post, "/v1/notifications", auth: harness.apiKey,
                    body: #"{"recipients":["ana"],"category":"security","content":{"title":"Alert","body":"Details at https://www.acme.example/alerts"}}"#)
                let marketing = try await client.request(
                    .post, "/v1/notifications", auth: harness.apiKey,
                    body: #"{"recipients":["ana"],"category":"marketing","content":{"title":"Offer","body":"See partner.example/deal"}}"#)

                #expect(security.status == .created && marketing.status == .created)
            }
        }
    }

    @Test("A segment send reaches exactly the users whose metadata matches")
    func segmentSend() async throws {
        try await TestHarness.with { harness in
            _ = try await harness.store.putUser(harness.user("ana"), profile: UserProfile(metadata: ["tier": .string("gold"), "age": .number(30)]), in: harness.app)
            _ = try await harness.store.putUser(harness.user("ben"), profile: UserProfile(metadata: ["tier": .string("gold"), "age": .number(1)]), in: harness.app)
            _ = try await harness.store.putUser(harness.user("cat"), profile: UserProfile(metadata: ["tier": .string("silver")]), in: harness.app)
            _ = try await harness.store.putUser(harness.user("eve"), profile: UserProfile(metadata: ["tier": .string("gold"), "age": .bool(true)]), in: harness.otherApp)
            let tokens = try await (harness.token(for: "ana"), harness.token(for: "ben"), harness.token(for: "cat"))
            try await harness.run { client in
                let gold = try await client.request(
                    .post, "/v1/notifications", auth: harness.apiKey,
                    body: #"{"segment":{"metadata":{"tier":"gold"}},"category":"transactional","content":{"title":"Gold","body":"For gold members"}}"#
                ).decode(SentNotification.self)
                let ageOne = try await client.request(
                    .post, "/v1/notifications", auth: harness.apiKey,
                    body: #"{"segment":{"metadata":{"age":1}},"category":"transactional","content":{"title":"One","body":"Age one, not true"}}"#
                ).decode(SentNotification.self)

                // A segment fans out in the background: the answer comes first, the scheduler writes the items.
                #expect(gold.status == "sending" && gold.recipients == 0 && ageOne.status == "sending")
                try await harness.parts.notifications.runDue()
                let reports = try await [gold.id, ageOne.id].asyncMap { id in
                    try await client.request(.get, "/v1/notifications/\(id)", auth: harness.apiKey).decode(NotificationReport.self)
                }
                #expect(reports.map(\.status) == [.sent, .sent] && reports.map(\.recipients) == [2, 1] && reports.map(\.skipped) == [0, 0])
                #expect(try await client.inbox(tokens.0).items.map(\.title) == ["Gold"])
                #expect(try await client.inbox(tokens.1).items.map(\.title) == ["One", "Gold"])
                #expect(try await client.inbox(tokens.2).items.isEmpty)
            }
        }
    }

    @Test("The same Idempotency-Key returns the first notification and writes no second item; another body is 409")
    func idempotency() async throws {
        try await TestHarness.with { harness in
            let ana = try await harness.token(for: "ana")
            try await harness.run { client in
                let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "alert-77"]
                let body = #"{"recipients":["ana"],"category":"security","content":{"title":"Alert","body":"New sign-in"}}"#

                let first = try await client.request(.post, "/v1/notifications", auth: harness.apiKey, body: body, headers: key)
                let again = try await client.request(.post, "/v1/notifications", auth: harness.apiKey, body: body, headers: key)
                let other = try await client.request(.post, "/v1/notifications", auth: harness.apiKey, body: body.replacingOccurrences(of: "New", with: "Old"), headers: key)

                #expect(first.status == .created && again.status == .ok && other.status == .conflict)
                #expect(try first.decode(SentNotification.self).id == again.decode(SentNotification.self).id)
                #expect(try await client.inbox(ana).items.count == 1)
            }
        }
    }

    @Test("A connected customer gets inbox.created at once and the item counts as delivered")
    func liveDelivery() async throws {
        try await TestHarness.with { harness in
            try await harness.run(.live) { client in
                let ana = try #require(try await client.readySocket(as: "ana", harness: harness))

                let sent = try await client.request(
                    .post, "/v1/notifications", auth: harness.apiKey,
                    body: #"{"recipients":["ana","ben"],"category":"security","content":{"title":"New sign-in","body":"From Seoul"}}"#
                ).decode(SentNotification.self)

                guard case .inboxCreated(let item)? = await ana.next("inbox.created") else {
                    Issue.record("no inbox.created frame")
                    return
                }
                #expect(item.title == "New sign-in" && item.recipient == harness.user("ana"))
                let report = try await client.request(.get, "/v1/notifications/\(sent.id)", auth: harness.apiKey).decode(NotificationReport.self)
                #expect(report.delivered == 1 && report.recipients == 2)
                await ana.close()
            }
        }
    }

    @Test("A send to 10,000 recipients completes and every inbox holds exactly one item")
    func tenThousandRecipients() async throws {
        try await TestHarness.with(durability: .normal) { harness in
            let users = (0..<10_000).map { UserID(rawValue: "user-\($0)")! }
            for user in users { _ = try await harness.store.putUser(user, profile: UserProfile(), in: harness.app) }
            let list = users.map { "\"\($0.rawValue)\"" }.joined(separator: ",")
            try await harness.run { client in
                let response = try await client.request(
                    .post, "/v1/notifications", auth: harness.apiKey,
                    body: #"{"recipients":[\#(list)],"category":"transactional","content":{"title":"Rates change","body":"New rates from January."}}"#)
                let sent = try response.decode(SentNotification.self)
                // One item per recipient at most (a constraint), so 10,000 items are one for each.
                let report = try #require(try await harness.store.notificationReport(sent.id, in: harness.app))
                let sample = try await client.inbox(try await harness.tokens.issue(for: users[9_999], in: harness.app, ttlSeconds: 600).token)

                #expect(response.status == .created && sent.recipients == 10_000)
                #expect(report.recipients == 10_000 && report.status == .sent)
                #expect(sample.items.count == 1 && sample.unreadCount == 1)
            }
        }
    }
}
