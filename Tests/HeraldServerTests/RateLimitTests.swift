import Foundation
import HTTPTypes
import HeraldCore
@testable import HeraldServer
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Rate limits")
struct RateLimitTests {
    @Test("A key past its rate gets 429 with Retry-After, counted in /metrics; another tenant is unaffected meanwhile")
    func platformRateLimit() async throws {
        // The clock stands still, so no token comes back during the test.
        try await TestHarness.with(clock: TestClock(Date()), configure: { $0.platformRate = 5 }) { harness in
            try await harness.run { client in
                var statuses: [HTTPResponse.Status] = []
                var retryAfter: String?
                for _ in 0..<15 {
                    let response = try await client.request(.get, "/v1/users/ana", auth: harness.apiKey)
                    statuses.append(response.status)
                    if response.status == .tooManyRequests { retryAfter = response.headers[.retryAfter] }
                }
                let other = try await client.request(.get, "/v1/settings", auth: harness.otherKey)
                let metrics = try await client.request(.get, "/metrics").text

                #expect(statuses.prefix(10).allSatisfy { $0 == .ok }, "the burst is twice the rate")
                #expect(statuses.suffix(5).allSatisfy { $0 == .tooManyRequests })
                #expect(retryAfter.flatMap(Int.init).map { $0 >= 1 } == true)
                #expect(other.status == .ok)
                #expect(metrics.contains(#"herald_rate_limited_total{caller="platform",reason="rate"} 5"#), "\(metrics)")
            }
        }
    }

    @Test("A user token has its own, smaller bucket; a refusal is a problem document")
    func userRateLimit() async throws {
        try await TestHarness.with(clock: TestClock(Date()), configure: { $0.userRate = 1 }) { harness in
            let ana = try await harness.token(for: "ana")
            let ben = try await harness.token(for: "ben")
            try await harness.run { client in
                let statuses = try await (0..<5).asyncMap { _ in try await client.request(.get, "/v1/me/inbox", auth: ana).status }
                let refused = try await client.request(.get, "/v1/me/inbox", auth: ana)
                let benStatus = try await client.request(.get, "/v1/me/inbox", auth: ben).status

                #expect(statuses.prefix(3).allSatisfy { $0 == .ok })
                #expect(statuses.suffix(2).allSatisfy { $0 == .tooManyRequests })
                #expect(refused.status == .tooManyRequests && refused.problem?.status == 429)
                #expect(benStatus == .ok)
            }
        }
    }

    @Test("Requests of one app beyond its concurrency are refused while the others run; customers never use up the platform's budget")
    func concurrencyPerApp() {
        let concurrency = Concurrency(perApp: 2, perUser: 1)
        let app = AppID.generate()
        let other = AppID.generate()
        let platform = concurrency.slots(for: .platform(app))
        let ana = concurrency.slots(for: .user(app, UserID(rawValue: "ana")!)), ben = concurrency.slots(for: .user(app, UserID(rawValue: "ben")!))
        let cat = concurrency.slots(for: .user(app, UserID(rawValue: "cat")!))

        #expect(concurrency.enter(platform) && concurrency.enter(platform))
        #expect(!concurrency.enter(platform))
        #expect(concurrency.enter(concurrency.slots(for: .platform(other))))
        concurrency.leave(platform)
        #expect(concurrency.enter(platform))
        // Customers: one request each at a time, two for the app's customers together; the platform's slots are apart.
        #expect(concurrency.enter(ana) && !concurrency.enter(ana), "one per customer")
        #expect(concurrency.enter(ben) && !concurrency.enter(cat), "the customers' budget is full")
        concurrency.leave(ana)
        #expect(concurrency.enter(cat))
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
