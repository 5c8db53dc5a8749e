import Crypto
import Foundation
import HeraldCore
@testable import HeraldServer
import HeraldStore
import HeraldTestSupport
import Testing

@Suite("Webhooks")
struct WebhooksTests {
    struct Created: Decodable { var secret: String }
    struct DeliveryPage: Decodable {
        struct Entry: Decodable {
            var messageId: String
            var event: String
            var attempt: Int
            var statusCode: Int?
            var outcome: String
        }
        var deliveries: [Entry]
    }

    /// Verifies the Standard Webhooks signature with swift-crypto, independently of the server's code.
    static func isSignedCorrectly(_ received: WebhookReceiver.Received, secret: String) -> Bool {
        guard let id = received.header("webhook-id"), let timestamp = received.header("webhook-timestamp"),
            let signature = received.header("webhook-signature"), let key = Data(base64Encoded: String(secret.dropFirst(6)))
        else { return false }
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(id).\(timestamp).".utf8) + received.body, using: SymmetricKey(data: key))
        return signature == "v1," + Data(mac).base64EncodedString()
    }

    @Test("Private, loopback and plain-http endpoints are refused unless the operator allows them")
    func ssrf() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                for url in ["http://hooks.acme.example/x", "https://127.0.0.1/x", "https://10.0.0.8/x", "https://169.254.169.254/latest", "https://[::1]/x", "https://localhost/x"] {
                    let response = try await client.request(.put, "/v1/webhooks", auth: harness.apiKey, body: #"{"url":"\#(url)","events":["action.performed"]}"#)
                    #expect(response.status == .unprocessableContent, "\(url)")
                    #expect(response.problem?.errors?.first?.reason == .targetNotAllowed, "\(url)")
                }
                let good = try await client.request(.put, "/v1/webhooks", auth: harness.apiKey, body: #"{"url":"https://hooks.acme.example/x","events":["action.performed"]}"#)
                #expect(good.status == .ok)
            }
        }
    }

    @Test("A webhook whose name resolves to loopback is refused at delivery time and logged")
    func ssrfAtDelivery() async throws {
        try await TestHarness.with { harness in
            let parts = harness.parts
            try await harness.run { client in
                _ = try await client.request(.put, "/v1/webhooks", auth: harness.apiKey, body: #"{"url":"https://localhost.localdomain/x","events":["notification.sent"]}"#)
                _ = try await harness.seedInboxItem(for: "ana")
                let worker = parts.outboxWorker()
                try await worker.runOnce()
                await worker.sender.shutdown()

                let page = try await client.request(.get, "/v1/webhooks/deliveries", auth: harness.apiKey).decode(DeliveryPage.self)
                #expect(page.deliveries.first?.outcome == "retrying" && page.deliveries.first?.statusCode == nil)
            }
        }
    }

    @Test("action.performed reaches a real receiver, signed; a failure is retried with backoff and logged")
    func deliveryAndRetry() async throws {
        let clock = TestClock("2026-11-25T09:00:00Z")
        try await WebhookReceiver.with(statuses: [500]) { receiver in
            try await TestHarness.with(clock: clock, configure: { $0.allowsPrivateTargets = true }) { harness in
                let parts = harness.parts
                try await harness.run { client in
                    let secret = try await client.request(
                        .put, "/v1/webhooks", auth: harness.apiKey, body: #"{"url":"\#(receiver.url)","events":["action.performed"]}"#
                    ).decode(Created.self).secret
                    _ = try await client.request(
                        .post, "/v1/notifications", auth: harness.apiKey,
                        body: #"{"recipients":["ana"],"category":"transactional","content":{"title":"Rate us","body":"How did we do?"},"actions":[{"id":"rate","label":"Rate","input":{"type":"rating"}}]}"#)
                    let token = try await harness.token(for: "ana", ttlSeconds: 86_400)
                    let item = try #require(try await client.inbox(token).items.first)
                    _ = try await client.request(.post, "/v1/me/inbox/\(item.id)/actions/rate", auth: token, body: #"{"input":{"value":5}}"#)
                    let worker = parts.outboxWorker()

                    try await worker.runOnce()
                    let first = try #require(await receiver.next())
                    #expect(try await worker.runOnce() == 0, "the retry waits for its backoff")
                    clock.advance(by: 10)
                    try await worker.runOnce()
                    let second = try #require(await receiver.next())
                    await worker.sender.shutdown()

                    #expect(Self.isSignedCorrectly(first, secret: secret) && Self.isSignedCorrectly(second, secret: secret))
                    #expect(first.header("webhook-id") == second.header("webhook-id"))
                    let event = try JSONValue.parse(second.body)
                    guard case .object(let fields) = event, case .object(let data)? = fields["data"] else {
                        Issue.record("not a Standard Webhooks payload")
                        return
                    }
                    #expect(fields["type"] == .string("action.performed"))
                    #expect(data["actionId"] == .string("rate") && data["userId"] == .string("ana") && data["input"] == .object(["value": .number(5)]))
                    let page = try await client.request(.get, "/v1/webhooks/deliveries", auth: harness.apiKey).decode(DeliveryPage.self)
                    #expect(page.deliveries.map(\.outcome) == ["delivered", "retrying"])
                    #expect(page.deliveries.map(\.statusCode) == [200, 500] && page.deliveries.map(\.attempt) == [2, 1])
                }
            }
        }
    }
}
