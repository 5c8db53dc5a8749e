import Foundation
import HeraldCore
import HeraldServer
import Testing

@Suite("Templates over HTTP")
struct TemplatesRoutesTests {
    static let fraudAlert = #"""
        {"category": "security", "title": "Card ending {{last4}}", "body": "Did you pay {{amount}} at {{merchant}}?",
         "localizations": {"ko": {"body": "{{merchant}}에서 {{amount}} 결제하셨나요?"}},
         "actions": [{"id": "approve", "label": "It was me", "stepUp": true}, {"id": "decline", "label": "Not me"}],
         "followUps": {"decline": "card-freeze-offer"}}
        """#

    @Test("Each PUT makes a new version; GET returns the latest or the one asked for")
    func versions() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let first = try await client.request(.put, "/v1/templates/fraud-alert", auth: harness.apiKey, body: Self.fraudAlert)
                let second = try await client.request(
                    .put, "/v1/templates/fraud-alert", auth: harness.apiKey, body: #"{"category":"security","title":"Alert","body":"Check {{merchant}}"}"#)
                let latest = try await client.request(.get, "/v1/templates/fraud-alert", auth: harness.apiKey).decode(Template.self)
                let old = try await client.request(.get, "/v1/templates/fraud-alert?version=1", auth: harness.apiKey).decode(Template.self)
                let missing = try await client.request(.get, "/v1/templates/fraud-alert?version=9", auth: harness.apiKey)
                let list = try await client.request(.get, "/v1/templates", auth: harness.apiKey).text

                #expect(first.status == .created && second.status == .ok)
                #expect(latest.version == 2 && latest.definition.title == "Alert")
                #expect(old.version == 1 && old.definition.followUps == ["decline": TemplateKey(rawValue: "card-freeze-offer")!])
                #expect(missing.status == .notFound)
                #expect(list.contains(#""version":2"#) && !list.contains(#""version":1"#))
            }
        }
    }

    @Test("Preview renders in the asked locale, and names a missing variable")
    func preview() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                _ = try await client.request(.put, "/v1/templates/fraud-alert", auth: harness.apiKey, body: Self.fraudAlert)

                let korean = try await client.request(
                    .post, "/v1/templates/fraud-alert/preview", auth: harness.apiKey,
                    body: #"{"locale":"ko-KR","variables":{"last4":"4242","amount":"€120","merchant":"Café"}}"#)
                let missing = try await client.request(
                    .post, "/v1/templates/fraud-alert/preview", auth: harness.apiKey, body: #"{"variables":{"last4":"4242","amount":"€120"}}"#)

                #expect(korean.status == .ok)
                #expect(korean.text.contains("Café에서 €120 결제하셨나요?") && korean.text.contains(#""locale":"ko""#))
                let link = try await client.request(
                    .post, "/v1/templates/fraud-alert/preview", auth: harness.apiKey,
                    body: #"{"variables":{"last4":"4242","amount":"€120","merchant":"evil.example/refund"}}"#)
                #expect(link.status == .unprocessableContent && link.problem?.errors?.first?.field == "variables")
                #expect(link.problem?.errors?.first?.reason == .linkNotAllowed)
                #expect(missing.status == .unprocessableContent)
                #expect(missing.problem?.errors == [FieldProblem(field: "variables.merchant", reason: .missingVariable, detail: "the template uses {{merchant}}")])
            }
        }
    }

    @Test("A bad key is 422, an unknown template 404, another app's template 404")
    func keysAndIsolation() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                _ = try await client.request(.put, "/v1/templates/fraud-alert", auth: harness.apiKey, body: Self.fraudAlert)

                let badKey = try await client.request(.put, "/v1/templates/Fraud%20Alert", auth: harness.apiKey, body: Self.fraudAlert)
                let unknown = try await client.request(.get, "/v1/templates/nope", auth: harness.apiKey)
                let otherApp = try await client.request(.get, "/v1/templates/fraud-alert", auth: harness.otherKey)

                #expect(badKey.status == .unprocessableContent && badKey.problem?.errors?.first?.field == "key")
                #expect(unknown.status == .notFound && otherApp.status == .notFound)
            }
        }
    }
}
