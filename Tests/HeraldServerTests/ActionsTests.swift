import Crypto
import Foundation
import HTTPTypes
import HeraldCore
@testable import HeraldServer
import HeraldStore
import HummingbirdTesting
import Testing

/// A customer's phone in these tests: a software P-256 key registered as the device's step-up key.
struct TestDevice {
    let key = P256.Signing.PrivateKey()
    var id: String = ""

    var jwk: String {
        let raw = key.publicKey.rawRepresentation
        return #"{"kty":"EC","crv":"P-256","x":"\#(raw.prefix(32).base64URLEncodedString())","y":"\#(raw.suffix(32).base64URLEncodedString())"}"#
    }

    /// Signs what API.md specifies (`herald-action-v2`), computed here independently of the server's code:
    /// `canonicalInput` is the RFC 8785 form of the input object, written out by the test itself.
    func sign(item: String, action: String, challenge: String, payload: Data, canonicalInput: String? = nil, version: String = "v2") throws -> String {
        let payloadHash = Data(SHA256.hash(data: payload)).base64URLEncodedString()
        let inputHash = canonicalInput.map { Data(SHA256.hash(data: Data($0.utf8))).base64URLEncodedString() } ?? ""
        let text =
            version == "v1"
            ? "herald-action-v1\n\(item)\n\(action)\n\(challenge)\n\(payloadHash)"
            : "herald-action-v2\n\(item)\n\(action)\n\(challenge)\n\(payloadHash)\n\(inputHash)"
        return try key.signature(for: Data(text.utf8)).rawRepresentation.base64URLEncodedString()
    }
}

struct ActionResult: Decodable, Equatable {
    var status: String
    var itemId: String
    var actionId: String
    var input: JSONValue?
}

@Suite("Actions and step-up")
struct ActionsTests {
    static let paymentApproval = #"""
        {"recipients":["ana","ben"],"category":"security","content":{"title":"Approve 250 EUR to Bob","body":"Payment to Bob Ltd, 250 EUR"},
         "actions":[{"id":"approve","label":"Approve","stepUp":true},{"id":"decline","label":"Decline"},
                    {"id":"reason","label":"Why?","input":{"type":"choice","options":["not me","wrong amount"]}}]}
        """#

    /// Ana's item of a fresh payment approval, her token, and her registered device.
    private func setUp(_ harness: TestHarness, _ client: TestClient) async throws -> (item: InboxItem, token: String, device: TestDevice) {
        _ = try await client.request(.post, "/v1/notifications", auth: harness.apiKey, body: Self.paymentApproval)
        let token = try await harness.token(for: "ana", ttlSeconds: 86_400)
        let item = try #require(try await client.inbox(token).items.first)
        var device = TestDevice()
        let registered = try await client.request(.post, "/v1/me/devices", auth: token, body: #"{"platform":"fcm","token":"fcm-ana-1","stepUpKey":\#(device.jwk)}"#)
        struct Registered: Decodable { var deviceId: String }
        device.id = try registered.decode(Registered.self).deviceId
        // The bank activates the key, as it would after its own strong authentication of Ana.
        let activated = try await client.request(.post, "/v1/users/ana/devices/\(device.id)/step-up/activate", auth: harness.apiKey)
        #expect(activated.status == .ok)
        return (item, token, device)
    }

    private func challenge(_ client: TestClient, item: InboxItem, action: String = "approve", token: String) async throws -> String {
        struct Challenge: Decodable { var challenge: String }
        return try await client.request(.post, "/v1/me/inbox/\(item.id)/actions/\(action)/challenge", auth: token).decode(Challenge.self).challenge
    }

    private func approve(_ client: TestClient, item: InboxItem, token: String, device: TestDevice, challenge: String, signature: String) async throws -> TestResponse {
        try await client.request(
            .post, "/v1/me/inbox/\(item.id)/actions/approve", auth: token,
            body: #"{"deviceId":"\#(device.id)","challenge":"\#(challenge)","signature":"\#(signature)"}"#)
    }

    @Test("A valid step-up approval is accepted once; the item shows it and the report counts it")
    func validStepUp() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let (item, token, device) = try await setUp(harness, client)
                let challenge = try await challenge(client, item: item, token: token)
                let payload = try #require(SignedPayload.payload(of: item.jws))

                let response = try await approve(
                    client, item: item, token: token, device: device, challenge: challenge,
                    signature: try device.sign(item: item.id.rawValue, action: "approve", challenge: challenge, payload: payload))
                let decline = try await client.request(.post, "/v1/me/inbox/\(item.id)/actions/decline", auth: token)
                let after = try await client.request(.get, "/v1/me/inbox/\(item.id)", auth: token).decode(InboxItem.self)
                let report = try await client.request(.get, "/v1/notifications/\(item.notificationId)", auth: harness.apiKey).decode(NotificationReport.self)

                #expect(response.status == .ok)
                #expect(try response.decode(ActionResult.self) == ActionResult(status: "accepted", itemId: item.id.rawValue, actionId: "approve", input: nil))
                #expect(try decline.decode(ActionResult.self).actionId == "approve", "a second attempt answers with the first result")
                #expect(after.performed?.actionId == "approve" && after.readAt != nil)
                #expect(report.acted == 1 && report.read == 1)
            }
        }
    }

    @Test("Step-up proofs that must fail: replayed, wrong key, other item, tampered payload, expired, no proof")
    func failingStepUps() async throws {
        let clock = TestClock("2026-11-25T09:00:00Z")
        try await TestHarness.with(clock: clock) { harness in
            try await harness.run { client in
                let (item, token, device) = try await setUp(harness, client)
                let payload = try #require(SignedPayload.payload(of: item.jws))
                let (_, otherItemID) = try await harness.seedInboxItem(for: "ana")

                // Replayed: a challenge works once, even after a failure.
                let used = try await challenge(client, item: item, token: token)
                _ = try await approve(client, item: item, token: token, device: device, challenge: used, signature: String(repeating: "A", count: 86))
                let replayed = try await approve(
                    client, item: item, token: token, device: device, challenge: used,
                    signature: try device.sign(item: item.id.rawValue, action: "approve", challenge: used, payload: payload))
                // Wrong key: signed by a key that is not the device's.
                let second = try await challenge(client, item: item, token: token)
                let wrongKey = try await approve(
                    client, item: item, token: token, device: device, challenge: second,
                    signature: try TestDevice().sign(item: item.id.rawValue, action: "approve", challenge: second, payload: payload))
                // Another item: the signature names another item than the one approved.
                let third = try await challenge(client, item: item, token: token)
                let otherItem = try await approve(
                    client, item: item, token: token, device: device, challenge: third,
                    signature: try device.sign(item: otherItemID.rawValue, action: "approve", challenge: third, payload: payload))
                // Tampered payload: what the device was shown is not what the business signed.
                let fourth = try await challenge(client, item: item, token: token)
                let tamperedPayload = Data(String(decoding: payload, as: UTF8.self).replacingOccurrences(of: "250 EUR", with: "25 EUR").utf8)
                let tampered = try await approve(
                    client, item: item, token: token, device: device, challenge: fourth,
                    signature: try device.sign(item: item.id.rawValue, action: "approve", challenge: fourth, payload: tamperedPayload))
                // Expired: signed correctly, but after the challenge's five minutes.
                let fifth = try await challenge(client, item: item, token: token)
                clock.advance(by: Limits.challengeSeconds + 1)
                let expired = try await approve(
                    client, item: item, token: token, device: device, challenge: fifth,
                    signature: try device.sign(item: item.id.rawValue, action: "approve", challenge: fifth, payload: payload))
                let noProof = try await client.request(.post, "/v1/me/inbox/\(item.id)/actions/approve", auth: token)

                #expect([replayed, wrongKey, otherItem, tampered, expired].map(\.status) == Array(repeating: .forbidden, count: 5))
                #expect(noProof.status == .unprocessableContent)
                #expect(try await client.request(.get, "/v1/me/inbox/\(item.id)", auth: token).decode(InboxItem.self).performed == nil)
            }
        }
    }

    @Test("Another user's challenge or device does not work for an item")
    func crossUser() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let (item, token, device) = try await setUp(harness, client)
                let ben = try await harness.token(for: "ben")
                let bensItem = try #require(try await client.inbox(ben).items.first)
                let bensChallenge = try await challenge(client, item: bensItem, token: ben)
                let payload = try #require(SignedPayload.payload(of: item.jws))

                let foreign = try await approve(
                    client, item: item, token: token, device: device, challenge: bensChallenge,
                    signature: try device.sign(item: item.id.rawValue, action: "approve", challenge: bensChallenge, payload: payload))
                let byBen = try await client.request(.post, "/v1/me/inbox/\(item.id)/actions/approve/challenge", auth: ben)

                #expect(foreign.status == .forbidden)
                #expect(byBen.status == .notFound)
            }
        }
    }

    @Test("Inputs are checked against the action; a non-step-up action needs no challenge")
    func inputs() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let (item, token, _) = try await setUp(harness, client)
                let path = "/v1/me/inbox/\(item.id)/actions/reason"

                let missing = try await client.request(.post, path, auth: token)
                let wrong = try await client.request(.post, path, auth: token, body: #"{"input":{"value":"bored"}}"#)
                let noChallenge = try await client.request(.post, "/v1/me/inbox/\(item.id)/actions/decline/challenge", auth: token)
                let unknown = try await client.request(.post, "/v1/me/inbox/\(item.id)/actions/launch", auth: token)
                let good = try await client.request(.post, path, auth: token, body: #"{"input":{"value":"wrong amount"}}"#)

                #expect(missing.status == .unprocessableContent && wrong.status == .unprocessableContent && noChallenge.status == .unprocessableContent)
                #expect(unknown.status == .notFound)
                #expect(try good.decode(ActionResult.self).input == .object(["value": .string("wrong amount")]))
            }
        }
    }

    @Test("An expired item refuses its actions with 410")
    func expiredItem() async throws {
        let clock = TestClock("2026-11-25T09:00:00Z")
        try await TestHarness.with(clock: clock) { harness in
            let token = try await harness.token(for: "ana", ttlSeconds: 86_400)
            try await harness.run { client in
                _ = try await client.request(
                    .post, "/v1/notifications", auth: harness.apiKey,
                    body: #"{"recipients":["ana"],"category":"security","content":{"title":"Confirm","body":"Confirm sign-in"},"actions":[{"id":"yes","label":"Yes"}],"expiresAt":"2026-11-25T09:05:00Z"}"#)
                let item = try #require(try await client.inbox(token).items.first)

                clock.advance(by: 301)
                let late = try await client.request(.post, "/v1/me/inbox/\(item.id)/actions/yes", auth: token)

                #expect(late.status == .gone)
            }
        }
    }

    @Test("Declining a fraud alert sends the template's follow-up to the same user, once")
    func followUp() async throws {
        try await TestHarness.with { harness in
            let parts = harness.parts
            try await harness.run { client in
                _ = try await client.request(
                    .put, "/v1/templates/card-freeze-offer", auth: harness.apiKey,
                    body: #"{"category":"security","title":"Freeze card {{last4}}?","body":"We can freeze it now.","actions":[{"id":"freeze","label":"Freeze"}]}"#)
                _ = try await client.request(
                    .put, "/v1/templates/fraud-alert", auth: harness.apiKey,
                    body: #"{"category":"security","title":"Card {{last4}} used","body":"Was it you?","actions":[{"id":"approve","label":"Yes"},{"id":"decline","label":"No"}],"followUps":{"decline":"card-freeze-offer"}}"#)
                _ = try await client.request(
                    .post, "/v1/notifications", auth: harness.apiKey, body: #"{"recipients":["ana"],"template":"fraud-alert","variables":{"last4":"4242"}}"#)
                let token = try await harness.token(for: "ana")
                let alert = try #require(try await client.inbox(token).items.first)

                _ = try await client.request(.post, "/v1/me/inbox/\(alert.id)/actions/decline", auth: token)
                _ = try await client.request(.post, "/v1/me/inbox/\(alert.id)/actions/decline", auth: token)
                let worker = parts.outboxWorker()
                try await worker.runOnce()
                try await worker.runOnce()
                await worker.sender.shutdown()

                let titles = try await client.inbox(token).items.map(\.title)
                #expect(titles == ["Freeze card 4242?", "Card 4242 used"])
            }
        }
    }
}
