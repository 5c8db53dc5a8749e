import Foundation
import HeraldCore
import HeraldStore
import HTTPTypes
import Testing

/// A malicious tenant: an app's own API key used against another app, or against its own customers'
/// trust (words put in a customer's mouth).
@Suite("Attacker: a malicious tenant")
struct MaliciousTenantTests {
    @Test("A business that edits a customer's message cannot pass its words off as the customer's: the message says editedBy business")
    func platformEditIsMarked() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            let sent = try await harness.post("I authorise nothing", to: channel, from: "ana")
            try await harness.run { client in
                let token = try await harness.token(for: "ana")

                let edited = try await client.request(
                    .patch, "/v1/channels/\(channel.id)/messages/\(sent.id)", auth: harness.apiKey, body: #"{"text":"I authorise the transfer"}"#
                ).decode(Message.self)
                let seen = try await client.request(.get, "/v1/channels/\(channel.id)/messages/\(sent.id)", auth: token).decode(Message.self)
                let byAna = try await client.request(.patch, "/v1/channels/\(channel.id)/messages/\(sent.id)", auth: token, body: #"{"text":"I authorise nothing!"}"#)
                    .decode(Message.self)

                #expect(edited.sender == harness.user("ana") && edited.editedBy == .business)
                #expect(seen.editedBy == .business, "what the customer's app reads, after the store sealed and opened it")
                #expect(byAna.editedBy == nil, "the sender's own edit is theirs again")
            }
        }
    }

    @Test("A template bomb through a send or a preview is refused with 422, and the server answers the next request")
    func templateBombIsRefused() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let put = try await client.request(
                    .put, "/v1/templates/bomb", auth: harness.apiKey,
                    body: #"{"category":"transactional","title":"{{#a}}{{#a}}{{#a}}x{{/a}}{{/a}}{{/a}}","body":"Body"}"#)
                let array = "[" + Array(repeating: "0", count: 100).joined(separator: ",") + "]"
                let longArray = "[" + Array(repeating: "0", count: 8_000).joined(separator: ",") + "]"

                let sent = try await client.request(
                    .post, "/v1/notifications", auth: harness.apiKey, body: #"{"recipients":["ana"],"template":"bomb","variables":{"a":\#(array)}}"#)
                let previewed = try await client.request(.post, "/v1/templates/bomb/preview", auth: harness.apiKey, body: #"{"variables":{"a":\#(array)}}"#)
                let tooMany = try await client.request(.post, "/v1/templates/bomb/preview", auth: harness.apiKey, body: #"{"variables":{"a":\#(longArray)}}"#)

                #expect(put.status == .ok || put.status == .created, "\(put.text)")
                #expect(sent.status == .unprocessableContent && sent.problem?.errors?.first?.reason == .tooLarge, "\(sent.text)")
                #expect(previewed.status == .unprocessableContent && previewed.problem?.errors?.first?.reason == .tooLarge)
                #expect(tooMany.status == .unprocessableContent && tooMany.problem?.errors?.first?.reason == .tooMany)
                #expect(try await client.request(.get, "/v1/templates/bomb", auth: harness.apiKey).status == .ok)
            }
        }
    }

    @Test("Nothing of another app answers to a tenant's key: its users, channels, devices and tokens are 404")
    func otherAppIsInvisible() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            try await harness.run { client in
                let device = try await client.request(.post, "/v1/me/devices", auth: try await harness.token(for: "ana"), body: #"{"platform":"fcm","token":"fcm-ana","stepUpKey":\#(TestDevice().jwk)}"#)
                struct Registered: Decodable { var deviceId: String }
                let id = try device.decode(Registered.self).deviceId

                for (method, path) in [
                    (HTTPRequest.Method.get, "/v1/users/ana/devices"), (.post, "/v1/users/ana/devices/\(id)/step-up/activate"), (.delete, "/v1/users/ana/devices/\(id)"),
                    (.post, "/v1/users/ana/tokens/revoke"), (.get, "/v1/channels/\(channel.id)/messages"),
                ] {
                    #expect(try await client.request(method, path, auth: harness.otherKey).status == .notFound, "\(method) \(path)")
                }
                let devices = try await client.request(.get, "/v1/users/ana/devices", auth: harness.apiKey).text
                #expect(devices.contains(#""state":"pending""#), "the other app's calls changed nothing")
            }
        }
    }
}
