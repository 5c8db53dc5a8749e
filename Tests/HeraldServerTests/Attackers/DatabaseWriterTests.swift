import Foundation
import HeraldCore
import HeraldStore
import HeraldTestSupport
import HummingbirdTesting
import Testing

/// Someone who can write the content database but does not hold the master key (a database
/// administrator, a stolen replica's credentials): they can delete and corrupt, but not forge what
/// Herald vouches for. (Audit tampering is `ComplianceTests`; moved ciphertext, the conformance suite.)
@Suite("Attacker: someone who can write the database without the master key", .serialized)
struct DatabaseWriterTests {
    @Test("Marking a step-up key active in the database, or moving an active key to another customer, approves nothing")
    func forgedActivationApprovesNothing() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                _ = try await client.request(.post, "/v1/notifications", auth: harness.apiKey, body: StolenTokenTests.approval.replacingOccurrences(of: #"["ana"]"#, with: #"["ana","ben"]"#))
                let (ana, ben) = (try await harness.token(for: "ana"), try await harness.token(for: "ben"))
                let attacker = TestDevice(), bens = TestDevice()
                struct Registered: Decodable { var deviceId: String }
                let planted = try await client.request(.post, "/v1/me/devices", auth: ana, body: #"{"platform":"fcm","token":"fcm-planted","stepUpKey":\#(attacker.jwk)}"#)
                    .decode(Registered.self).deviceId
                let bensDevice = try await client.request(.post, "/v1/me/devices", auth: ben, body: #"{"platform":"fcm","token":"fcm-ben","stepUpKey":\#(bens.jwk)}"#)
                    .decode(Registered.self).deviceId
                _ = try await client.request(.post, "/v1/users/ben/devices/\(bensDevice)/step-up/activate", auth: harness.apiKey)

                try harness.writeDatabase("UPDATE device SET stepUpState = 'active', stepUpActivatedAt = 1 WHERE id = '\(planted)'")
                let forged = try await Self.approve(client, token: ana, device: attacker, deviceID: planted)
                // Ben's device, with its valid tag, handed to Ana.
                try harness.writeDatabase("UPDATE device SET userID = 'ana' WHERE id = '\(bensDevice)'")
                let moved = try await Self.approve(client, token: ana, device: bens, deviceID: bensDevice)
                let shown = try await client.request(.get, "/v1/users/ana/devices", auth: harness.apiKey).text

                // The app registers again at its next launch: that must not make the forged state genuine.
                let again = try await client.request(.post, "/v1/me/devices", auth: ana, body: #"{"platform":"fcm","token":"fcm-planted","stepUpKey":\#(attacker.jwk)}"#)
                let afterReRegistration = try await Self.approve(client, token: ana, device: attacker, deviceID: planted)

                #expect(forged.status == .forbidden && forged.problem?.errors?.first?.reason == .stepUpKeyNotActive)
                #expect(again.status == .ok && afterReRegistration.status == .forbidden, "\(again.status) \(again.text) \(afterReRegistration.text)")
                #expect(moved.status == .forbidden)
                #expect(!shown.contains(#""state":"active""#), "what the bank sees is what Herald vouches for: \(shown)")
            }
        }
    }

    @Test("A stored value Herald does not know is an error, never a default: an unknown category does not read as transactional, a broken sender does not make a customer's message the bank's")
    func unknownStoredValuesAreErrors() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            let message = try await harness.post("mine", to: channel, from: "ben")
            let (notification, item) = try await harness.seedInboxItem(for: "ana")

            // Each read works before the change, so what fails after is the stored value, not the setup.
            _ = try await harness.store.inbox(of: harness.user("ana"), in: harness.app, query: InboxQuery())
            _ = try await harness.store.notificationReport(notification, in: harness.app)
            _ = try await harness.store.history(of: channel.id, in: harness.app, query: HistoryQuery(after: 0, limit: 50))

            try harness.writeDatabase("UPDATE inboxItem SET category = 'bogus' WHERE id = '\(item)'")
            try harness.writeDatabase("UPDATE notification SET category = 'bogus' WHERE id = '\(notification)'")
            try harness.writeDatabase("UPDATE message SET sender = 'not an id!' WHERE id = '\(message.id)'")

            // Each is an error whose text quotes none of the row (a row may hold a push token or a key).
            let reads: [@Sendable () async throws -> Void] = [
                { _ = try await harness.store.inbox(of: harness.user("ana"), in: harness.app, query: InboxQuery()) },
                { _ = try await harness.store.notificationReport(notification, in: harness.app) },
                { _ = try await harness.store.history(of: channel.id, in: harness.app, query: HistoryQuery(after: 0, limit: 50)) },
            ]
            for read in reads {
                do {
                    try await read()
                    Issue.record("a stored value Herald does not know was read as something")
                } catch {
                    #expect(!"\(error)".contains("bogus") && !"\(error)".contains("not an id!") && !"\(error)".contains("\(item)"), "\(error)")
                }
            }
        }
    }

    static func approve(_ client: TestClient, token: String, device: TestDevice, deviceID: String) async throws -> TestResponse {
        let item = try #require(try await client.inbox(token).items.first)
        struct Challenge: Decodable { var challenge: String }
        let challenge = try await client.request(.post, "/v1/me/inbox/\(item.id)/actions/approve/challenge", auth: token).decode(Challenge.self).challenge
        let signature = try device.sign(item: item.id.rawValue, action: "approve", challenge: challenge, payload: try #require(SignedPayload.payload(of: item.jws)))
        return try await client.request(
            .post, "/v1/me/inbox/\(item.id)/actions/approve", auth: token, body: #"{"deviceId":"\#(deviceID)","challenge":"\#(challenge)","signature":"\#(signature)"}"#)
    }
}
