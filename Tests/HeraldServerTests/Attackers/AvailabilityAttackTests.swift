import Foundation
import HTTPTypes
import HeraldCore
import HeraldStore
@testable import HeraldServer
import Testing

/// Attacks on availability from inside a tenant: a customer holding requests open with bodies that
/// trickle in, to use up what the bank's own calls need.
@Suite("Attacker: a customer who holds requests open", .serialized)
struct AvailabilityAttackTests {
    @Test("A customer's slow bodies never make the bank's Platform API or other customers answer 429, and end in 408")
    func slowBodiesLockNobodyOut() async throws {
        try await TestHarness.with(configure: { configuration in
            configuration.userConcurrency = 4
            configuration.requestBodyTimeout = .seconds(3)
        }) { harness in
            try await harness.run(.live) { client in
                let ana = try await harness.token(for: "ana")
                let held = try (0..<4).map { _ in try RawHTTPConnection(port: client.port) }
                for connection in held {
                    connection.send(
                        "PUT /v1/me/preferences HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(ana)\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"con")
                }
                // One more of hers is refused once hers are all held (asked until it is: the held ones take
                // their slots as the server reads their headers); the bank and Ben go on.
                var hersRefused: Int?
                for _ in 0..<50 where hersRefused != 429 {
                    let extra = try RawHTTPConnection(port: client.port)
                    extra.send("GET /v1/users/ana HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(ana)\r\n\r\n")
                    hersRefused = extra.status()
                }
                let bank = try await client.request(.get, "/v1/users/ana", auth: harness.apiKey)
                let ben = try await client.request(.get, "/v1/me/inbox", auth: try await harness.token(for: "ben"))
                let timedOut = held.map { $0.status() }

                #expect(hersRefused == 429)
                #expect(bank.status == .ok && ben.status == .ok)
                #expect(timedOut == [408, 408, 408, 408], "the trickled bodies end with 408")
            }
        }
    }

    @Test("A scheduled notification whose template no longer renders within the budget is marked failed, not retried for ever")
    func scheduledBombFails() async throws {
        let clock = TestClock("2026-12-06T10:00:00Z")
        try await TestHarness.with(clock: clock) { harness in
            // Stored as an earlier version allowed: three sections over 100 elements, 10^6 renders of a long line.
            let line = String(repeating: "x", count: 50)
            let bomb = TemplateDefinition(category: .transactional, title: "T", body: "{{#a}}{{#a}}{{#a}}\(line){{/a}}{{/a}}{{/a}}")
            let template = try await harness.store.putTemplate(TemplateKey(rawValue: "bomb")!, bomb, in: harness.app)
            let variables: [String: JSONValue] = ["a": .array(Array(repeating: .bool(true), count: 100))]
            let notification = OutgoingNotification(
                id: .generate(), app: harness.app, category: .transactional, source: .template(template.key, variables: variables),
                templateVersion: template.version, audience: .users([harness.user("ana")]), data: nil, actions: nil, sendAt: clock.now(),
                expiresAt: nil, createdAt: clock.now(), status: .scheduled)
            _ = try await harness.store.createNotification(notification, idempotency: nil)
            _ = try await harness.store.putUser(harness.user("ana"), profile: UserProfile(name: "Ana"), in: harness.app)

            try await harness.parts.notifications.runDue()
            clock.advance(by: OutgoingNotification.leaseSeconds + 1)
            try await harness.parts.notifications.runDue()
            let report = try await harness.store.notificationReport(notification.id, in: harness.app)

            #expect(report?.status == .failed)
        }
    }
}
