import Crypto
import _CryptoExtras
import Foundation
import HTTPTypes
import HeraldCore
import HeraldServer
import HeraldStore
import Hummingbird
import HummingbirdTesting
import Testing

/// Every route × every kind of caller, with the status each must get.
///
/// Each row runs on a fresh server with users ana, ben, cat and dan, a group of ana, ben and cat, and one
/// message from ana in it. Callers: no credentials, a bad key, another app's key, a non-member (dan),
/// a member (ana, the message's sender, or ben where noted), and the app's own key. Cells are tried in
/// that order, so the ones that succeed (and may change state) come last.
@Suite("Authorization matrix")
struct AuthorizationMatrixTests {
    enum Caller: String, CaseIterable, Sendable {
        case anonymous, badKey, otherApp, nonMember, member, otherMember, platform
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var method: HTTPRequest.Method
        var path: String
        var body: String?
        var expected: [Caller: HTTPResponse.Status]

        var testDescription: String { "\(method) \(path)" }
    }

    /// `{channel}`, `{message}` are replaced by the seeded ids.
    static let rows: [Row] = [
        Row(method: .get, path: "/health", expected: [.anonymous: .ok, .badKey: .ok, .otherApp: .ok, .nonMember: .ok, .member: .ok, .platform: .ok]),
        Row(
            method: .put, path: "/v1/users/eve", body: #"{"name":"Eve"}"#,
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .nonMember: .forbidden, .member: .forbidden, .otherApp: .created, .platform: .created]),
        Row(
            method: .get, path: "/v1/users/ana",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .ok]),
        Row(
            method: .get, path: "/v1/users/ana/export",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .ok]),
        Row(
            method: .delete, path: "/v1/users/dan",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .noContent]),
        Row(
            method: .get, path: "/v1/audit",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .ok, .nonMember: .forbidden, .member: .forbidden, .platform: .ok]),
        Row(
            method: .post, path: "/v1/users/ana/tokens",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .created]),
        Row(
            method: .post, path: "/v1/channels", body: #"{"type":"group","members":["ana","dan"]}"#,
            expected: [
                .anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .unprocessableContent, .nonMember: .forbidden, .member: .forbidden,
                .platform: .created,
            ]),
        Row(
            method: .get, path: "/v1/channels/{channel}",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .ok, .platform: .ok]),
        Row(
            method: .post, path: "/v1/channels/{channel}/members", body: #"{"members":["dan"]}"#,
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .ok]),
        Row(
            method: .delete, path: "/v1/channels/{channel}/members/cat",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .ok]),
        Row(
            method: .post, path: "/v1/channels/{channel}/read", body: #"{"seq":1}"#,
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .forbidden, .nonMember: .forbidden, .platform: .forbidden, .member: .ok]),
        Row(
            method: .post, path: "/v1/channels/{channel}/messages", body: #"{"text":"hi"}"#,
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .created, .platform: .created]),
        Row(
            method: .get, path: "/v1/channels/{channel}/messages",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .ok, .platform: .ok]),
        Row(
            method: .get, path: "/v1/channels/{channel}/messages/{message}",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .ok, .platform: .ok]),
        Row(
            method: .patch, path: "/v1/channels/{channel}/messages/{message}", body: #"{"text":"edited"}"#,
            expected: [
                .anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .otherMember: .forbidden, .member: .ok,
                .platform: .ok,
            ]),
        Row(
            method: .delete, path: "/v1/channels/{channel}/messages/{message}",
            expected: [
                .anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .otherMember: .forbidden, .member: .ok,
                .platform: .ok,
            ]),
        Row(
            method: .get, path: "/v1/apps/{app}/keys",
            expected: [.anonymous: .ok, .badKey: .ok, .otherApp: .ok, .nonMember: .ok, .member: .ok, .platform: .ok]),
        Row(
            method: .post, path: "/v1/signing-keys/rotate",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .nonMember: .forbidden, .member: .forbidden, .otherApp: .created, .platform: .created]),
        Row(
            method: .get, path: "/v1/settings",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .nonMember: .forbidden, .member: .forbidden, .otherApp: .ok, .platform: .ok]),
        Row(
            method: .put, path: "/v1/settings", body: #"{"retention":{"messageDays":30}}"#,
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .nonMember: .forbidden, .member: .forbidden, .otherApp: .ok, .platform: .ok]),
        Row(
            method: .put, path: "/v1/templates/alert", body: #"{"category":"security","title":"Hi","body":"b"}"#,
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .nonMember: .forbidden, .member: .forbidden, .otherApp: .created, .platform: .ok]),
        Row(
            method: .get, path: "/v1/templates/seeded",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .ok]),
        Row(
            method: .get, path: "/v1/templates",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .nonMember: .forbidden, .member: .forbidden, .otherApp: .ok, .platform: .ok]),
        Row(
            method: .post, path: "/v1/templates/seeded/preview", body: #"{"variables":{}}"#,
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .ok]),
        Row(
            method: .post, path: "/v1/events", body: #"{"userId":"ana","name":"ping"}"#,
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .unprocessableContent, .nonMember: .forbidden, .member: .forbidden, .platform: .created]),
        Row(
            method: .get, path: "/v1/journeys",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .nonMember: .forbidden, .member: .forbidden, .otherApp: .ok, .platform: .ok]),
        Row(
            method: .put, path: "/v1/journeys/watch", body: #"{"name":"w","category":"security","trigger":{"event":"ping"},"steps":[{"id":"a","send":{"template":"seeded"}}]}"#,
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .nonMember: .forbidden, .member: .forbidden, .otherApp: .unprocessableContent, .platform: .created]),
        Row(
            method: .get, path: "/v1/journeys/seeded",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .ok]),
        Row(
            method: .post, path: "/v1/journeys/seeded/dry-run", body: #"{"userId":"ana","events":[{"name":"ping"}]}"#,
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .ok]),
        Row(
            method: .get, path: "/v1/journeys/seeded/report",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .ok]),
        Row(
            method: .put, path: "/v1/fallback/sms", body: #"{"accountSid":"AC1","authToken":"t","from":"Acme"}"#,
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .nonMember: .forbidden, .member: .forbidden, .otherApp: .ok, .platform: .ok]),
        Row(
            method: .get, path: "/v1/fallback/sms",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .ok]),
        Row(
            method: .delete, path: "/v1/fallback/sms",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .noContent]),
        Row(
            method: .put, path: "/v1/fallback/email", body: #"{"host":"smtp.acme.example","username":"u","password":"p","from":"n@acme.example"}"#,
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .nonMember: .forbidden, .member: .forbidden, .otherApp: .ok, .platform: .ok]),
        Row(
            method: .get, path: "/v1/fallback/email",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .ok]),
        Row(
            method: .delete, path: "/v1/fallback/email",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .noContent]),
        Row(
            method: .get, path: "/v1/fallback/deliveries",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .nonMember: .forbidden, .member: .forbidden, .otherApp: .ok, .platform: .ok]),
        Row(
            method: .post, path: "/v1/notifications", body: #"{"recipients":["ana"],"category":"security","content":{"title":"t","body":"b"}}"#,
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .unprocessableContent, .nonMember: .forbidden, .member: .forbidden, .platform: .created]),
        Row(
            method: .get, path: "/v1/notifications/{notification}",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .ok]),
        Row(
            method: .get, path: "/v1/me/inbox",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .forbidden, .platform: .forbidden, .nonMember: .ok, .member: .ok]),
        Row(
            method: .get, path: "/v1/me/inbox/{item}",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .forbidden, .platform: .forbidden, .nonMember: .notFound, .member: .ok]),
        Row(
            method: .post, path: "/v1/me/inbox/{item}/read",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .forbidden, .platform: .forbidden, .nonMember: .notFound, .member: .ok]),
        Row(
            method: .post, path: "/v1/me/inbox/{item}/archive",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .forbidden, .platform: .forbidden, .nonMember: .notFound, .member: .ok]),
        Row(
            method: .post, path: "/v1/me/inbox/read-all",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .forbidden, .platform: .forbidden, .nonMember: .ok, .member: .ok]),
        Row(
            method: .get, path: "/v1/me/preferences",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .forbidden, .platform: .forbidden, .nonMember: .ok, .member: .ok]),
        Row(
            method: .put, path: "/v1/me/preferences", body: #"{"consents":{"marketing":true}}"#,
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .forbidden, .platform: .forbidden, .nonMember: .ok, .member: .ok]),
        Row(
            method: .post, path: "/v1/me/inbox/{item}/actions/approve/challenge",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .forbidden, .platform: .forbidden, .nonMember: .notFound, .member: .created]),
        Row(
            method: .post, path: "/v1/me/inbox/{item}/actions/decline",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .forbidden, .platform: .forbidden, .nonMember: .notFound, .member: .ok]),
        Row(
            method: .post, path: "/v1/me/devices", body: #"{"platform":"fcm","token":"t-1"}"#,
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .forbidden, .platform: .forbidden, .nonMember: .created, .member: .created]),
        Row(
            method: .get, path: "/v1/me/devices",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .forbidden, .platform: .forbidden, .nonMember: .ok, .member: .ok]),
        Row(
            method: .delete, path: "/v1/me/devices/{device}",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .forbidden, .platform: .forbidden, .nonMember: .notFound, .member: .noContent]),
        Row(
            method: .put, path: "/v1/webhooks", body: #"{"url":"https://hooks.acme.example/h","events":["action.performed"]}"#,
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .nonMember: .forbidden, .member: .forbidden, .otherApp: .ok, .platform: .ok]),
        Row(
            method: .get, path: "/v1/webhooks",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .ok]),
        Row(
            method: .get, path: "/v1/webhooks/deliveries",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .nonMember: .forbidden, .member: .forbidden, .otherApp: .ok, .platform: .ok]),
        Row(
            method: .delete, path: "/v1/webhooks",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .noContent]),
        Row(
            method: .get, path: "/v1/stats",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .nonMember: .forbidden, .member: .forbidden, .otherApp: .ok, .platform: .ok]),
        Row(
            method: .get, path: "/v1/me/channels",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .forbidden, .platform: .forbidden, .nonMember: .ok, .member: .ok]),
        Row(
            method: .put, path: "/v1/push/apns",
            body: #"{"teamId":"TEAM123456","keyId":"KEY1234567","privateKey":"{apnsKey}","topic":"com.acme.bank","environment":"sandbox"}"#,
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .nonMember: .forbidden, .member: .forbidden, .otherApp: .ok, .platform: .ok]),
        Row(
            method: .get, path: "/v1/push/apns",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .ok]),
        Row(
            method: .delete, path: "/v1/push/apns",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .noContent]),
        Row(
            method: .put, path: "/v1/push/fcm",
            body: #"{"serviceAccount":{"type":"service_account","project_id":"acme","client_email":"h@acme.iam.gserviceaccount.com","private_key":"{rsaKey}"}}"#,
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .nonMember: .forbidden, .member: .forbidden, .otherApp: .ok, .platform: .ok]),
        Row(
            method: .get, path: "/v1/push/fcm",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .ok]),
        Row(
            method: .delete, path: "/v1/push/fcm",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .otherApp: .notFound, .nonMember: .forbidden, .member: .forbidden, .platform: .noContent]),
        Row(
            method: .get, path: "/v1/push/deliveries?userId=ana",
            expected: [.anonymous: .unauthorized, .badKey: .unauthorized, .nonMember: .forbidden, .member: .forbidden, .otherApp: .ok, .platform: .ok]),
        Row(
            method: .get, path: "/v1/apps/{app}/webpush",
            expected: [.anonymous: .ok, .badKey: .ok, .otherApp: .ok, .nonMember: .ok, .member: .ok, .platform: .ok]),
        Row(method: .get, path: "/metrics", expected: [.anonymous: .ok, .badKey: .ok, .otherApp: .ok, .nonMember: .ok, .member: .ok, .platform: .ok]),
    ]

    /// Keys for the push credential rows, as JSON string content (newlines escaped).
    static let apnsKeyJSON = P256.Signing.PrivateKey().pemRepresentation.replacingOccurrences(of: "\n", with: "\\n")
    static let rsaKeyJSON = try! _RSA.Signing.PrivateKey(keySize: .bits2048).pemRepresentation.replacingOccurrences(of: "\n", with: "\\n")

    @Test("Each caller gets the expected status", arguments: rows)
    func matrix(row: Row) async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben", "cat"])
            let message = try await harness.post("seed", to: channel, from: "ana")
            try await harness.seedTemplates()
            _ = try await harness.store.putJourney(
                JourneyKey(rawValue: "seeded")!,
                document: Data(#"{"category":"security","name":"s","steps":[{"id":"a","send":{"template":"seeded"}}],"trigger":{"event":"ping"}}"#.utf8), in: harness.app)
            try await harness.store.putPushCredentials(.sms, secret: Data(#"{"accountSid":"AC1","authToken":"t","from":"Acme","baseUrl":"https://api.twilio.com"}"#.utf8), in: harness.app)
            try await harness.store.putPushCredentials(.email, secret: Data(#"{"host":"smtp.acme.example","port":587,"username":"u","password":"p","from":"n@acme.example"}"#.utf8), in: harness.app)
            let (notification, item) = try await harness.seedInboxItem(for: "ana")
            let device = try await harness.store.registerDevice(NewDevice(platform: .fcm, token: "seed"), for: harness.user("ana"), in: harness.app).device
            _ = try await harness.store.putWebhook(url: "https://hooks.acme.example/h", events: [.actionPerformed], secret: "whsec_AAAA", in: harness.app)
            try await harness.store.putPushCredentials(.apns, secret: Data(#"{"teamId":"TEAM123456","keyId":"KEY1234567","privateKey":"x","topic":"t","environment":"production"}"#.utf8), in: harness.app)
            try await harness.store.putPushCredentials(.fcm, secret: Data(#"{"project_id":"acme","client_email":"h@acme","private_key":"x","token_uri":"https://oauth2.googleapis.com/token"}"#.utf8), in: harness.app)
            let credentials: [Caller: String?] = [
                .anonymous: nil, .badKey: "hk_0000000000000000_notthekey", .otherApp: harness.otherKey,
                .nonMember: try await harness.token(for: "dan"), .member: try await harness.token(for: "ana"),
                .otherMember: try await harness.token(for: "ben"), .platform: harness.apiKey,
            ]
            let path = row.path.replacingOccurrences(of: "{channel}", with: channel.id.rawValue)
                .replacingOccurrences(of: "{message}", with: message.id.rawValue).replacingOccurrences(of: "{app}", with: harness.app.rawValue)
                .replacingOccurrences(of: "{notification}", with: notification.rawValue).replacingOccurrences(of: "{item}", with: item.rawValue)
                .replacingOccurrences(of: "{device}", with: device.id.rawValue)

            let statuses = try await harness.run { client in
                var statuses: [Caller: HTTPResponse.Status] = [:]
                for caller in Caller.allCases where row.expected[caller] != nil {
                    let body = row.body?.replacingOccurrences(of: "{apnsKey}", with: Self.apnsKeyJSON).replacingOccurrences(of: "{rsaKey}", with: Self.rsaKeyJSON)
                    let response = try await client.request(row.method, path, auth: credentials[caller] ?? nil, body: body)
                    statuses[caller] = response.status
                    if response.status.code >= 400 {
                        #expect(response.headers[.contentType] == "application/problem+json", "\(caller)")
                        #expect(response.problem?.status == response.status.code, "\(caller)")
                    }
                }
                return statuses
            }

            #expect(statuses == row.expected)
        }
    }

    @Test("A malformed bearer header is 401, as is a token signed with an unknown key")
    func badTokens() async throws {
        try await TestHarness.with { harness in
            let token = try await harness.token(for: "ana")
            var parts = token.split(separator: ".").map(String.init)
            parts[2] = String(parts[2].reversed())
            let tampered = parts.joined(separator: ".")

            try await harness.run { client in
                for header in ["Basic abc", "Bearer", "Bearer ", "bearer \(tampered)", "Bearer a.b.c"] {
                    let response = try await client.client.executeRequest(
                        uri: "/v1/me/channels", method: .get, headers: [.authorization: header], body: nil)
                    #expect(response.status == .unauthorized, "\(header)")
                }
                #expect(try await client.request(.get, "/v1/me/channels", auth: token).status == .ok)
            }
        }
    }
}
