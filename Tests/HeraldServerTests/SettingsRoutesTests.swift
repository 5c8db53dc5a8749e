import Foundation
import HeraldCore
import HeraldServer
import Testing

@Suite("App settings")
struct SettingsRoutesTests {
    @Test("Defaults: no domain allowed, content kept, generic pushes for every category")
    func defaults() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let settings = try await client.request(.get, "/v1/settings", auth: harness.apiKey).decode(AppSettings.self)

                #expect(settings == AppSettings())
                #expect(NotificationCategory.allCases.allSatisfy { settings.push.content(for: $0) == .generic })
            }
        }
    }

    @Test("A PUT is merged section by section and normalizes domains")
    func mergeSections() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                _ = try await client.request(.put, "/v1/settings", auth: harness.apiKey, body: #"{"linkPolicy":{"allowedDomains":["Acme.Example.","bücher.example"]}}"#)
                _ = try await client.request(.put, "/v1/settings", auth: harness.apiKey, body: #"{"retention":{"messageDays":90},"push":{"content":{"marketing":"full"}}}"#)
                let settings = try await client.request(.get, "/v1/settings", auth: harness.apiKey).decode(AppSettings.self)
                _ = try await client.request(.put, "/v1/settings", auth: harness.apiKey, body: #"{"retention":{"messageDays":null}}"#)
                let cleared = try await client.request(.get, "/v1/settings", auth: harness.apiKey).decode(AppSettings.self)

                #expect(settings.linkPolicy.allowedDomains == ["acme.example", "xn--bcher-kva.example"])
                #expect(settings.retention.messageDays == 90)
                #expect(settings.push.content(for: .marketing) == .full && settings.push.content(for: .security) == .generic)
                #expect(cleared.retention.messageDays == nil && cleared.linkPolicy == settings.linkPolicy)
            }
        }
    }

    @Test("Every bad field is named and nothing is changed")
    func invalidSettings() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let response = try await client.request(
                    .put, "/v1/settings", auth: harness.apiKey,
                    body: #"{"linkPolicy":{"allowedDomains":["ok.example","https://x.example"]},"retention":{"messageDays":0},"push":{"content":{"security":"loud","sms":"full"}},"colour":1}"#)
                let settings = try await client.request(.get, "/v1/settings", auth: harness.apiKey).decode(AppSettings.self)

                #expect(response.status == .unprocessableContent)
                #expect(response.problem?.errors?.map(\.field).sorted() == [
                    "colour", "linkPolicy.allowedDomains[1]", "push.content.security", "push.content.sms", "retention.messageDays",
                ])
                #expect(settings == AppSettings())
            }
        }
    }
}
