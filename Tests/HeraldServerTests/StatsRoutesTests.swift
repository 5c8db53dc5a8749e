import Foundation
import HeraldCore
import HeraldServer
import Testing

@Suite("Engagement scorecard")
struct StatsRoutesTests {
    @Test("Rates, median times to read and act, and the marketing opt-out rate, per category")
    func scorecard() async throws {
        let clock = TestClock("2026-11-02T09:00:00Z")
        try await TestHarness.with(clock: clock) { harness in
            let tokens = try await (harness.token(for: "ana", ttlSeconds: 86_400), harness.token(for: "ben", ttlSeconds: 86_400))
            try await harness.run { client in
                _ = try await client.request(.put, "/v1/me/preferences", auth: tokens.0, body: #"{"consents":{"marketing":true}}"#)
                _ = try await client.request(
                    .post, "/v1/notifications", auth: harness.apiKey,
                    body: #"{"recipients":["ana","ben","cat"],"category":"security","content":{"title":"New sign-in","body":"Was it you?"},"actions":[{"id":"no","label":"No"}]}"#)
                _ = try await client.request(
                    .post, "/v1/notifications", auth: harness.apiKey,
                    body: #"{"recipients":["ana","ben"],"category":"marketing","content":{"title":"Offer","body":"10% off"}}"#)
                let anaItem = try #require(try await client.inbox(tokens.0, query: "?category=security").items.first)
                let benItem = try #require(try await client.inbox(tokens.1).items.first)
                clock.advance(by: 60)
                _ = try await client.request(.post, "/v1/me/inbox/\(anaItem.id)/read", auth: tokens.0)
                clock.advance(by: 60)
                _ = try await client.request(.post, "/v1/me/inbox/\(anaItem.id)/actions/no", auth: tokens.0)
                clock.advance(by: 60)
                _ = try await client.request(.post, "/v1/me/inbox/\(benItem.id)/read", auth: tokens.1)
                _ = try await client.request(.put, "/v1/me/preferences", auth: tokens.0, body: #"{"consents":{"marketing":false}}"#)

                let report = try await client.request(.get, "/v1/stats?from=2026-11-01T00:00:00Z&to=2026-11-03T00:00:00Z", auth: harness.apiKey)
                    .decode(EngagementReport.self)
                let empty = try await client.request(.get, "/v1/stats?from=2026-10-01T00:00:00Z&to=2026-10-02T00:00:00Z", auth: harness.apiKey)
                    .decode(EngagementReport.self)
                let bad = try await client.request(.get, "/v1/stats?from=yesterday&to=2026-10-02T00:00:00Z", auth: harness.apiKey)

                let security = try #require(report.categories["security"])
                #expect(security.sent == 3 && security.delivered == 2 && security.read == 2 && security.acted == 1)
                #expect(security.readRate == 0.6667 && security.actedRate == 0.3333)
                #expect(security.medianSecondsToRead == 120 && security.medianSecondsToAct == 120)
                let marketing = try #require(report.categories["marketing"])
                #expect(marketing.sent == 1 && marketing.optOuts == 1 && marketing.optOutRate == 1)
                #expect(empty.categories["security"]?.sent == 0 && empty.categories["security"]?.medianSecondsToRead == nil)
                #expect(bad.status == .unprocessableContent && bad.problem?.errors?.map(\.field) == ["from"])
            }
        }
    }
}
