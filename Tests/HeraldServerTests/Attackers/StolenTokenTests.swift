import Crypto
import Foundation
import HTTPTypes
import HeraldCore
import HeraldStore
import HeraldTestSupport
import HummingbirdTesting
import JWTKit
import Testing

/// The holder of a stolen user token (leaked from a web client, a proxy log, a backend; valid up to 30
/// days): they act as the customer through the client API, but they cannot approve what needs the
/// customer's device, they learn nothing that lets them take it over, and the bank can end the token.
@Suite("Attacker: the holder of a stolen user token")
struct StolenTokenTests {
    static let approval = #"""
        {"recipients":["ana"],"category":"security","content":{"title":"Approve 250 EUR to Bob","body":"Payment to Bob Ltd"},
         "actions":[{"id":"approve","label":"Approve","stepUp":true},
                    {"id":"dispute","label":"Dispute","stepUp":true,"input":{"type":"choice","options":["not me","wrong amount"]}}]}
        """#

    struct Registered: Decodable {
        var deviceId: String
        var stepUp: DeviceView.StepUp?
    }

    /// Ana's item, her token, and a device registered with `device`'s key (not activated).
    private func setUp(_ harness: TestHarness, _ client: TestClient, device: TestDevice, pushToken: String = "fcm-ana") async throws -> (InboxItem, String, String) {
        _ = try await client.request(.post, "/v1/notifications", auth: harness.apiKey, body: Self.approval)
        let token = try await harness.token(for: "ana", ttlSeconds: 86_400)
        let item = try #require(try await client.inbox(token).items.first)
        let registered = try await client.request(.post, "/v1/me/devices", auth: token, body: #"{"platform":"fcm","token":"\#(pushToken)","stepUpKey":\#(device.jwk)}"#)
        return (item, token, try registered.decode(Registered.self).deviceId)
    }

    private func approve(_ client: TestClient, _ item: InboxItem, action: String = "approve", input: String? = nil, token: String, device: TestDevice, deviceID: String, signedInput: String? = nil, version: String = "v2") async throws -> TestResponse {
        struct Challenge: Decodable { var challenge: String }
        let challenge = try await client.request(.post, "/v1/me/inbox/\(item.id)/actions/\(action)/challenge", auth: token).decode(Challenge.self).challenge
        let payload = try #require(SignedPayload.payload(of: item.jws))
        let signature = try device.sign(item: item.id.rawValue, action: action, challenge: challenge, payload: payload, canonicalInput: signedInput ?? input, version: version)
        let inputField = input.map { #","input":\#($0)"# } ?? ""
        return try await client.request(
            .post, "/v1/me/inbox/\(item.id)/actions/\(action)", auth: token,
            body: #"{"deviceId":"\#(deviceID)","challenge":"\#(challenge)","signature":"\#(signature)"\#(inputField)}"#)
    }

    @Test("A stolen user token cannot enrol a step-up key that approves a payment: the key stays pending")
    func enrolledKeyIsPending() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let attacker = TestDevice()
                let (item, token, deviceID) = try await setUp(harness, client, device: attacker)

                let refused = try await approve(client, item, token: token, device: attacker, deviceID: deviceID)

                #expect(refused.status == .forbidden)
                #expect(refused.problem?.errors?.first?.reason == .stepUpKeyNotActive)
                #expect(try await client.request(.get, "/v1/me/inbox/\(item.id)", auth: token).decode(InboxItem.self).performed == nil)
            }
        }
    }

    @Test("A stolen token cannot replace the key of the customer's real device, even with its push token")
    func keyNeverChanges() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let phone = TestDevice(), attacker = TestDevice()
                let (item, token, deviceID) = try await setUp(harness, client, device: phone, pushToken: "fcm-real-phone")
                _ = try await client.request(.post, "/v1/users/ana/devices/\(deviceID)/step-up/activate", auth: harness.apiKey)

                let swap = try await client.request(.post, "/v1/me/devices", auth: token, body: #"{"platform":"fcm","token":"fcm-real-phone","stepUpKey":\#(attacker.jwk)}"#)
                let byAttacker = try await approve(client, item, token: token, device: attacker, deviceID: deviceID)
                let byPhone = try await approve(client, item, token: token, device: phone, deviceID: deviceID)

                #expect(swap.status == .conflict && swap.problem?.errors?.first?.reason == .stepUpKeyExists)
                #expect(byAttacker.status == .forbidden)
                #expect(byPhone.status == .ok, "the real device still approves: \(byPhone.text)")
            }
        }
    }

    @Test("A stolen token learns no push token or endpoint to re-register: devices show only a hint")
    func devicesHideTokens() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let token = try await harness.token(for: "ana")
                let push = "fcm-" + UUID().uuidString
                _ = try await client.request(.post, "/v1/me/devices", auth: token, body: #"{"platform":"fcm","token":"\#(push)"}"#)

                let mine = try await client.request(.get, "/v1/me/devices", auth: token).text
                let bank = try await client.request(.get, "/v1/users/ana/devices", auth: harness.apiKey).text

                #expect(!mine.contains(push) && !bank.contains(push))
                #expect(mine.contains(#""tokenHint":"\#(push.suffix(4))""#))
            }
        }
    }

    @Test("An approval's signature binds its input: the same signature with another answer, or a v1 signature, is refused")
    func signatureBindsInput() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let phone = TestDevice()
                let (item, token, deviceID) = try await setUp(harness, client, device: phone)
                _ = try await client.request(.post, "/v1/users/ana/devices/\(deviceID)/step-up/activate", auth: harness.apiKey)

                let swapped = try await approve(
                    client, item, action: "dispute", input: #"{"value":"wrong amount"}"#, token: token, device: phone, deviceID: deviceID,
                    signedInput: #"{"value":"not me"}"#)
                let v1 = try await approve(client, item, action: "dispute", input: #"{"value":"not me"}"#, token: token, device: phone, deviceID: deviceID, version: "v1")
                let good = try await approve(client, item, action: "dispute", input: #"{"value":"not me"}"#, token: token, device: phone, deviceID: deviceID)

                #expect(swapped.status == .forbidden && v1.status == .forbidden)
                #expect(good.status == .ok, "\(good.text)")
            }
        }
    }

    @Test("A 401 says what the caller can fix (missing, malformed, unknown, expired, revoked) and no more: a known key id with a wrong secret and a forged token are just unknown")
    func rejectionsSayWhy() async throws {
        let clock = TestClock("2026-12-01T09:00:00Z")
        try await TestHarness.with(clock: clock) { harness in
            try await harness.run { client in
                let expiring = try await harness.token(for: "ana")
                let revokedToken = try await harness.token(for: "ben")
                _ = try await client.request(.post, "/v1/users/ben/tokens/revoke", auth: harness.apiKey)
                var parts = expiring.split(separator: ".").map(String.init)
                parts[2] = String(parts[2].reversed())
                let forged = parts.joined(separator: ".")
                let wrongSecret = String(harness.apiKey.dropLast()) + (harness.apiKey.hasSuffix("A") ? "B" : "A")

                func why(_ auth: String?, header: String? = nil) async throws -> String {
                    var headers: HTTPFields = [:]
                    if let header { headers[.authorization] = header }
                    let response = try await client.request(.get, "/v1/me/inbox", auth: auth, headers: headers)
                    #expect(response.status == .unauthorized)
                    return response.problem?.detail ?? response.text
                }
                let missing = try await why(nil)
                let malformed = [try await why(nil, header: "Basic YW5hOnB3"), try await why("not-a-credential"), try await why("hk_short")]
                let unknown = [try await why(wrongSecret), try await why(forged)]
                let revoked = try await why(revokedToken)
                clock.advance(by: 3 * 3600)
                let expired = try await why(expiring)

                #expect(missing == CredentialRejection.missing.detail)
                #expect(malformed.allSatisfy { $0 == CredentialRejection.malformed.detail }, "\(malformed)")
                #expect(unknown.allSatisfy { $0 == CredentialRejection.unknown.detail }, "\(unknown)")
                #expect(revoked == CredentialRejection.revoked.detail && expired == CredentialRejection.expired.detail)
            }
        }
    }

    @Test("The bank revokes a user's tokens: every earlier token stops at once, open sockets close, new tokens work")
    func revocation() async throws {
        try await TestHarness.with { harness in
            try await harness.run(.live) { client in
                let stolen = try await harness.token(for: "ana")
                let socket = try #require(try await client.readySocket(as: "ana", harness: harness))

                let revoked = try await client.request(.post, "/v1/users/ana/tokens/revoke", auth: harness.apiKey)
                let afterwards = try await client.request(.get, "/v1/me/inbox", auth: stolen)
                let fresh = try await harness.token(for: "ana")

                #expect(revoked.status == .noContent)
                #expect(afterwards.status == .unauthorized)
                #expect(await socket.closeCode() == 4401)
                #expect(try await client.request(.get, "/v1/me/inbox", auth: fresh).status == .ok)
                #expect(try await client.request(.post, "/v1/users/nobody/tokens/revoke", auth: harness.apiKey).status == .notFound)
            }
        }
    }

    @Test("Erasing a user and creating the same id again does not revive the tokens issued before")
    func noRevivalAfterErasure() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let old = try await harness.token(for: "ana")
                _ = try await client.request(.delete, "/v1/users/ana", auth: harness.apiKey)
                _ = try await client.request(.put, "/v1/users/ana", auth: harness.apiKey, body: #"{"name":"Another Ana"}"#)

                #expect(try await client.request(.get, "/v1/me/inbox", auth: old).status == .unauthorized)
                #expect(try await client.request(.get, "/v1/me/inbox", auth: try await harness.token(for: "ana")).status == .ok)
            }
        }
    }

    @Test("A token minted with a leaked token key to live for years, or issued years ahead, is refused: none lives longer than tokens are issued for")
    func overlongTokenIsRefused() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let key = try await harness.store.currentTokenKey(of: harness.app)
                let keys = JWTKeyCollection()
                await keys.add(hmac: HMACKey(key: .init(data: key.secret)), digestAlgorithm: .sha256, kid: JWKIdentifier(string: key.kid))
                struct Claims: JWTPayload {
                    var sub: SubjectClaim
                    var app: String
                    var iat: IssuedAtClaim
                    var exp: ExpirationClaim
                    func verify(using algorithm: some JWTAlgorithm) async throws {}
                }
                let now = Date()
                let forever = try await keys.sign(
                    Claims(sub: .init(value: "ben"), app: harness.app.rawValue, iat: .init(value: now), exp: .init(value: now.addingTimeInterval(3 * 365 * 86_400))),
                    kid: JWKIdentifier(string: key.kid))
                let month = try await keys.sign(
                    Claims(sub: .init(value: "ben"), app: harness.app.rawValue, iat: .init(value: now), exp: .init(value: now.addingTimeInterval(86_400))),
                    kid: JWKIdentifier(string: key.kid))

                let later = now.addingTimeInterval(10 * 365 * 86_400)
                let futureIssued = try await keys.sign(
                    Claims(sub: .init(value: "ben"), app: harness.app.rawValue, iat: .init(value: later), exp: .init(value: later.addingTimeInterval(86_400))),
                    kid: JWKIdentifier(string: key.kid))

                // Ben has an epoch (created with this version), so even the short one needs it: only tokens the server issued work.
                #expect(try await client.request(.get, "/v1/me/inbox", auth: forever).status == .unauthorized)
                let issuedLater = try await client.request(.get, "/v1/me/inbox", auth: futureIssued)
                #expect(issuedLater.status == .unauthorized)
                #expect(issuedLater.problem?.detail == CredentialRejection.unknown.detail, "refused as issued in the future, before its epoch is looked at")
                #expect(try await client.request(.get, "/v1/me/inbox", auth: month).status == .unauthorized, "no epoch claim")
            }
        }
    }

    @Test("The token key rotates: new tokens carry the new kid, earlier ones work until they expire")
    func tokenKeyRotation() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let before = try await harness.token(for: "ana")
                struct Rotated: Decodable { var kid: String }
                let rotated = try await client.request(.post, "/v1/token-keys/rotate", auth: harness.apiKey)
                let after = try await harness.token(for: "ana")

                #expect(rotated.status == .created)
                let kid = try rotated.decode(Rotated.self).kid
                let header = try #require(Data(base64URLEncoded: String(after.split(separator: ".")[0])))
                #expect(String(decoding: header, as: UTF8.self).contains(kid))
                #expect(try await client.request(.get, "/v1/me/inbox", auth: before).status == .ok)
                #expect(try await client.request(.get, "/v1/me/inbox", auth: after).status == .ok)
            }
        }
    }

    @Test("Enrolment, activation, removal and revocation are each on the audit trail and queued for the bank's webhook")
    func auditedAndReported() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let hook = try await client.request(
                    .put, "/v1/webhooks", auth: harness.apiKey,
                    body: #"{"url":"https://hooks.acme.example/x","events":["device.step_up_pending","device.step_up_activated","device.removed","user.tokens_revoked"]}"#)
                #expect(hook.status == .ok || hook.status == .created)
                let token = try await harness.token(for: "ana")
                let device = try await client.request(.post, "/v1/me/devices", auth: token, body: #"{"platform":"fcm","token":"fcm-ana","stepUpKey":\#(TestDevice().jwk)}"#)
                    .decode(Registered.self).deviceId
                _ = try await client.request(.post, "/v1/users/ana/devices/\(device)/step-up/activate", auth: harness.apiKey)
                _ = try await client.request(.delete, "/v1/me/devices/\(device)", auth: token)
                _ = try await client.request(.post, "/v1/users/ana/tokens/revoke", auth: harness.apiKey)

                let audit = try await client.request(.get, "/v1/audit?limit=100", auth: harness.apiKey).decode(AuditPage.self).events
                let queued = try await harness.store.claimOutbox(kinds: [OutboxKind.webhook], now: Date().addingTimeInterval(60), lease: 60, limit: 100)
                let types = queued.compactMap { job -> String? in
                    guard case .object(let payload)? = try? JSONValue.parse(Data(job.payload.utf8)), case .string(let type)? = payload["type"] else { return nil }
                    return type
                }

                #expect(audit.contains { $0.action == "device.step_up_pending" && $0.actor == "user:ana" })
                #expect(audit.contains { $0.action == "POST /v1/users/{userId}/devices/{deviceId}/step-up/activate" })
                #expect(audit.contains { $0.action == "device.removed" && $0.actor == "user:ana" })
                #expect(audit.contains { $0.action == "POST /v1/users/{userId}/tokens/revoke" })
                #expect(Set(types) == ["device.step_up_pending", "device.step_up_activated", "device.removed", "user.tokens_revoked"], "\(types)")
                #expect(queued.allSatisfy { $0.user == harness.user("ana") }, "erasure would remove them")
            }
        }
    }
}
