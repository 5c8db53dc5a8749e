import Foundation
import HeraldCore
import HeraldTestSupport
import Testing

/// A malicious customer: a real account of the app, used against other customers of the same bank.
@Suite("Attacker: a malicious customer")
struct MaliciousCustomerTests {
    @Test("Registering another customer's push token never takes over their device nor deletes their step-up key")
    func pushTokenOfAnotherCustomer() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let (ana, ben) = (try await harness.token(for: "ana"), try await harness.token(for: "ben"))
                let victim = TestDevice()
                struct Registered: Decodable { var deviceId: String }
                let anas = try await client.request(.post, "/v1/me/devices", auth: ana, body: #"{"platform":"fcm","token":"fcm-victim","stepUpKey":\#(victim.jwk)}"#)
                    .decode(Registered.self).deviceId

                let takeover = try await client.request(.post, "/v1/me/devices", auth: ben, body: #"{"platform":"fcm","token":"fcm-victim","stepUpKey":\#(TestDevice().jwk)}"#)
                let stillThere = try await client.request(.get, "/v1/users/ana/devices", auth: harness.apiKey).decode(DeviceList.self).devices

                #expect(takeover.status == .conflict && takeover.problem?.errors?.first?.reason == .pushTokenInUse)
                let victimKey = StepUpKey(jwk: try JSONValue.parse(Data(victim.jwk.utf8)))
                #expect(stillThere.map(\.deviceId.rawValue) == [anas] && stillThere.first?.stepUp?.thumbprint == victimKey?.thumbprint)
            }
        }
    }

    @Test("A push token of a device without a step-up key moves to its new owner, and the move is audited")
    func pushTokenWithoutKeyMoves() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let (ana, ben) = (try await harness.token(for: "ana"), try await harness.token(for: "ben"))
                _ = try await client.request(.post, "/v1/me/devices", auth: ana, body: #"{"platform":"fcm","token":"fcm-shared-phone"}"#)

                let moved = try await client.request(.post, "/v1/me/devices", auth: ben, body: #"{"platform":"fcm","token":"fcm-shared-phone"}"#)
                let audit = try await client.request(.get, "/v1/audit?limit=100", auth: harness.apiKey).decode(AuditPage.self).events

                #expect(moved.status == .created)
                #expect(audit.contains { $0.action == "device.push_token_moved" && $0.actor == "user:ben" && $0.target == "/v1/users/ana/devices" })
            }
        }
    }

    @Test("A member's history request with seqs at the end of Int64 is a 422 naming them, and the server answers the next request")
    func historyAtIntegerBoundaries() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            try await harness.run { client in
                let token = try await harness.token(for: "ana")
                for query in [
                    "after=9223372036854775807&before=1", "after=9223372036854775806", "before=9223372036854775807", "after=9007199254740993",
                    "after=-1", "limit=9223372036854775807",
                ] {
                    let response = try await client.request(.get, "/v1/channels/\(channel.id)/messages?\(query)", auth: token)
                    #expect(response.status == .unprocessableContent && response.problem?.errors?.first?.reason == .outOfRange, "\(query)")
                }
                #expect(try await client.request(.get, "/v1/channels/\(channel.id)/messages?after=9007199254740991", auth: token).status == .ok)
            }
        }
    }

    struct DeviceList: Decodable { var devices: [DeviceView] }
}
