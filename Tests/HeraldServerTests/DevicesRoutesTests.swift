import Foundation
import HeraldCore
import HeraldServer
import HummingbirdTesting
import Testing

@Suite("Devices")
struct DevicesRoutesTests {
    struct Registered: Decodable { var deviceId: DeviceID }
    struct DeviceList: Decodable { var devices: [DeviceView] }

    static let apnsToken = String(repeating: "ab", count: 32)

    @Test("The same token again updates the device; registered by another user it moves to them")
    func mergeAndMove() async throws {
        try await TestHarness.with { harness in
            let (ana, ben) = (try await harness.token(for: "ana"), try await harness.token(for: "ben"))
            try await harness.run { client in
                let body = #"{"platform":"apns","token":"\#(Self.apnsToken)"}"#
                let first = try await client.request(.post, "/v1/me/devices", auth: ana, body: body)
                let again = try await client.request(.post, "/v1/me/devices", auth: ana, body: body)
                let moved = try await client.request(.post, "/v1/me/devices", auth: ben, body: body)
                let anas = try await client.request(.get, "/v1/me/devices", auth: ana).decode(DeviceList.self)
                let bens = try await client.request(.get, "/v1/me/devices", auth: ben).decode(DeviceList.self)

                #expect(first.status == .created && again.status == .ok && moved.status == .created)
                #expect(try first.decode(Registered.self).deviceId == again.decode(Registered.self).deviceId)
                #expect(try moved.decode(Registered.self).deviceId != first.decode(Registered.self).deviceId)
                #expect(anas.devices.isEmpty && bens.devices.map(\.tokenHint) == [String(Self.apnsToken.suffix(4))])
                let listed = try await client.request(.get, "/v1/me/devices", auth: ben).text
                #expect(!bens.devices.isEmpty && !listed.contains(Self.apnsToken), "never the token")
            }
        }
    }

    @Test("A web push subscription and a step-up key register; a user removes only their own devices")
    func webPushAndDelete() async throws {
        try await TestHarness.with { harness in
            let (ana, ben) = (try await harness.token(for: "ana"), try await harness.token(for: "ben"))
            try await harness.run { client in
                let p256dh = Data([4] + [UInt8](repeating: 7, count: 64)).base64URLEncodedString()
                let auth = Data(repeating: 1, count: 16).base64URLEncodedString()
                let device = TestDevice()
                let registered = try await client.request(
                    .post, "/v1/me/devices", auth: ana,
                    body: #"{"platform":"webpush","subscription":{"endpoint":"https://push.example/abc","keys":{"p256dh":"\#(p256dh)","auth":"\#(auth)"}},"stepUpKey":\#(device.jwk)}"#
                ).decode(Registered.self)
                let list = try await client.request(.get, "/v1/me/devices", auth: ana).decode(DeviceList.self)
                let byBen = try await client.request(.delete, "/v1/me/devices/\(registered.deviceId)", auth: ben)
                let byAna = try await client.request(.delete, "/v1/me/devices/\(registered.deviceId)", auth: ana)
                let again = try await client.request(.delete, "/v1/me/devices/\(registered.deviceId)", auth: ana)

                #expect(list.devices.first?.tokenHint == "/abc" && list.devices.first?.stepUp?.state == .pending)
                #expect(list.devices.first?.stepUp?.thumbprint == StepUpKey(jwk: try JSONValue.parse(Data(device.jwk.utf8)))?.thumbprint)
                #expect(byBen.status == .notFound && byAna.status == .noContent && again.status == .notFound)
            }
        }
    }

    @Test("What a browser's PushSubscription.toJSON() gives registers as it is: expirationTime null, or a future time that is kept; a past one is refused")
    func browserSubscription() async throws {
        try await TestHarness.with { harness in
            let ana = try await harness.token(for: "ana")
            try await harness.run { client in
                func register(_ endpoint: String, expiration: String) async throws -> TestResponse {
                    try await client.request(
                        .post, "/v1/me/devices", auth: ana,
                        body: #"{"platform":"webpush","subscription":{"endpoint":"https://push.example/\#(endpoint)","expirationTime":\#(expiration),"keys":{"p256dh":"\#(Self.p256dh)","auth":"\#(Self.auth)"}}}"#)
                }
                let never = try await register("never", expiration: "null")
                let dated = try await register("dated", expiration: "1893456000000")
                let wrong = try await register("wrong", expiration: #""tomorrow""#)
                let past = try await register("past", expiration: "1000")

                #expect(never.status == .created && dated.status == .created, "\(never.text) \(dated.text)")
                #expect(wrong.status == .unprocessableContent && wrong.problem?.errors?.first?.field == "subscription.expirationTime")
                #expect(past.status == .unprocessableContent && past.problem?.errors?.first?.reason == .outOfRange, "dropped already: \(past.text)")
                let stored = try await harness.store.devices(of: harness.user("ana"), in: harness.app).compactMap(\.subscription)
                #expect(Set(stored.map(\.expirationTime)) == [nil, 1_893_456_000_000])
            }
        }
    }

    static let p256dh = Data([4] + [UInt8](repeating: 1, count: 64)).base64URLEncodedString()
    static let auth = Data(count: 16).base64URLEncodedString()

    @Test("Bad registrations name every bad field; a Web Push endpoint on a private address is refused")
    func invalid() async throws {
        try await TestHarness.with { harness in
            let ana = try await harness.token(for: "ana")
            try await harness.run { client in
                let cases: [(String, [String])] = [
                    (#"{"platform":"sms","token":"x"}"#, ["platform"]),
                    (#"{"platform":"apns","token":"not-hex"}"#, ["token"]),
                    (#"{"platform":"fcm"}"#, ["token"]),
                    (#"{"platform":"webpush","subscription":{"endpoint":"http://push.example/x","keys":{"p256dh":"AA","auth":"AA"}}}"#, [
                        "subscription.endpoint", "subscription.keys.auth", "subscription.keys.p256dh",
                    ]),
                    (#"{"platform":"fcm","token":"t","stepUpKey":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}}"#, ["stepUpKey"]),
                    (#"{"platform":"webpush","subscription":{"endpoint":"https://127.0.0.1:8443/x","keys":{"p256dh":"\#(Self.p256dh)","auth":"\#(Self.auth)"}}}"#, [
                        "subscription.endpoint"
                    ]),
                    (#"{"platform":"webpush","subscription":{"endpoint":"https://[::1]/x","keys":{"p256dh":"\#(Self.p256dh)","auth":"\#(Self.auth)"}}}"#, [
                        "subscription.endpoint"
                    ]),
                ]
                for (body, fields) in cases {
                    let response = try await client.request(.post, "/v1/me/devices", auth: ana, body: body)
                    #expect(response.status == .unprocessableContent, "\(body)")
                    #expect(response.problem?.errors?.map(\.field).sorted() == fields, "\(body)")
                }
            }
        }
    }
}
