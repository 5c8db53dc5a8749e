import Crypto
import _CryptoExtras
import Foundation
import HTTPTypes
import HeraldCore
import HeraldPush
import HeraldTestSupport
import JWTKit
import Synchronization
import Testing

/// The APNs, FCM and Web Push clients against loopback HTTP/2 TLS servers that check each request
/// as the real provider would and answer as scripted.
@Suite("Push providers over HTTP/2")
struct ProviderClientTests {
    static func withCertificates<T>(_ body: (TestCertificates) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-push-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body(try TestCertificates(directory: directory))
    }

    static func push(expiresIn seconds: TimeInterval = 3600) -> PushNotification {
        PushNotification(
            kind: .inbox, appID: "app_test", id: "inb_0123456789abcdef", title: "New secure message", body: "From Acme. Open the app to read it.",
            badge: 3, expiresAt: Date().addingTimeInterval(seconds), isUrgent: true)
    }

    static let deviceToken = String(repeating: "ab", count: 32)

    /// A clock tests move by hand.
    final class Clock: Sendable {
        private let current = Mutex(Date())
        var now: @Sendable () -> Date { { [self] in current.withLock { $0 } } }
        func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    // MARK: APNs

    static func apnsSetup() -> (APNsCredentials, P256.Signing.PrivateKey) {
        let key = P256.Signing.PrivateKey()
        return (APNsCredentials(teamId: "TEAM123456", keyId: "KEY1234567", privateKey: key.pemRepresentation, topic: "com.acme.bank", environment: .sandbox), key)
    }

    @Test("APNs: an accepted push over HTTP/2 with a valid provider token; the token is reused, and replaced after 50 minutes")
    func apnsAccepted() async throws {
        let (credentials, key) = Self.apnsSetup()
        let clock = Clock()
        let fake = FakeAPNs(teamId: credentials.teamId, keyId: credentials.keyId, topic: credentials.topic, publicKey: key.publicKey, now: clock.now)
        try await Self.withCertificates { certificates in
            try await LoopbackHTTPSServer.run(certificates: certificates, handle: fake.handler()) { server in
                let http = try PushHTTPClient(allowsPrivateTargets: true, extraCAFile: certificates.caFile)
                let client = APNsClient(http: http, tokens: APNsTokenSigner(now: clock.now), baseURL: server.baseURL, now: clock.now)

                let first = await client.send(Self.push(), deviceToken: Self.deviceToken, credentials: credentials)
                let second = await client.send(Self.push(), deviceToken: Self.deviceToken, credentials: credentials)
                clock.advance(APNsTokenSigner.reuseInterval + 1)
                let third = await client.send(Self.push(), deviceToken: Self.deviceToken, credentials: credentials)
                await http.shutdown()

                #expect(fake.violations.all == [])
                #expect([first.outcome, second.outcome, third.outcome] == [.accepted, .accepted, .accepted])
                #expect(first.providerID != nil)
                let tokens = server.requests.map { $0.header("authorization") }
                #expect(tokens[0] == tokens[1])
                #expect(tokens[1] != tokens[2])
                let request = try #require(server.requests.first)
                #expect(request.isHTTP2)
                #expect(request.path == "/3/device/\(Self.deviceToken)")
                #expect(request.header("apns-priority") == "10")
                let body = try JSONValue.parse(request.body)
                guard case .object(let fields) = body, case .object(let aps)? = fields["aps"] else { Issue.record("no aps"); return }
                #expect(aps["badge"] == .number(3))
            }
        }
    }

    @Test("APNs: 410 removes the device, 403 ExpiredProviderToken makes a new token and retries, 429 and 500 are retried later")
    func apnsFailures() async throws {
        let (credentials, key) = Self.apnsSetup()
        let clock = Clock()
        let fake = FakeAPNs(teamId: credentials.teamId, keyId: credentials.keyId, topic: credentials.topic, publicKey: key.publicKey, now: clock.now)
        let answers = Mutex<[ScriptedResponse?]>([
            ScriptedResponse(.gone, json: #"{"reason":"Unregistered","timestamp":1764061200000}"#),
            ScriptedResponse(.forbidden, json: #"{"reason":"ExpiredProviderToken"}"#),
            nil,  // the retry with a new token is accepted
            ScriptedResponse(.tooManyRequests, headers: [.retryAfter: "30"], json: #"{"reason":"TooManyRequests"}"#),
            ScriptedResponse(.internalServerError, json: #"{"reason":"InternalServerError"}"#),
        ])
        let script: @Sendable (ReceivedRequest) -> ScriptedResponse? = { _ in answers.withLock { $0.isEmpty ? nil : $0.removeFirst() } }
        try await Self.withCertificates { certificates in
            try await LoopbackHTTPSServer.run(certificates: certificates, handle: fake.handler(script: script)) { server in
                let http = try PushHTTPClient(allowsPrivateTargets: true, extraCAFile: certificates.caFile)
                let client = APNsClient(http: http, tokens: APNsTokenSigner(now: clock.now), baseURL: server.baseURL, now: clock.now)

                let gone = await client.send(Self.push(), deviceToken: Self.deviceToken, credentials: credentials)
                let refreshed = await client.send(Self.push(), deviceToken: Self.deviceToken, credentials: credentials)
                let limited = await client.send(Self.push(), deviceToken: Self.deviceToken, credentials: credentials)
                let failing = await client.send(Self.push(), deviceToken: Self.deviceToken, credentials: credentials)
                await http.shutdown()

                #expect(fake.violations.all == [])
                #expect(gone.outcome == .unregistered)
                #expect(gone.reason == "Unregistered")
                #expect(refreshed.outcome == .accepted)
                let tokens = server.requests.map { $0.header("authorization") }
                #expect(tokens.count == 5)
                #expect(tokens[1] != tokens[2], "the retry after ExpiredProviderToken carries a new token")
                #expect(limited.outcome == .retry)
                #expect(limited.retryAfter == 30)
                #expect(failing.outcome == .retry)
                #expect(failing.statusCode == 500)
            }
        }
    }

    // MARK: FCM

    static func fcmSetup(tokenURL: String) throws -> (FCMServiceAccount, String) {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let account = FCMServiceAccount(
            projectId: "acme-bank", clientEmail: "herald@acme-bank.iam.gserviceaccount.com", privateKeyId: "key-1", privateKey: key.pemRepresentation,
            tokenURI: tokenURL)
        return (account, key.publicKey.pemRepresentation)
    }

    @Test("FCM: one OAuth token serves many sends; UNREGISTERED removes, QUOTA_EXCEEDED waits for Retry-After, 503 retries, 401 refreshes the token")
    func fcm() async throws {
        let tokenURL = Mutex("")
        let answers = Mutex<[ScriptedResponse?]>([
            nil, nil,
            ScriptedResponse(.notFound, json: #"{"error":{"code":404,"status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}"#),
            ScriptedResponse(.tooManyRequests, headers: [.retryAfter: "120"], json: #"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"QUOTA_EXCEEDED"}]}}"#),
            ScriptedResponse(.serviceUnavailable, json: #"{"error":{"code":503,"status":"UNAVAILABLE","message":"try later"}}"#),
        ])
        let (account, publicKey) = try Self.fcmSetup(tokenURL: "https://placeholder.invalid/token")
        let google = FakeGoogle(projectId: account.projectId, clientEmail: account.clientEmail, publicKeyPEM: publicKey)
        let script: @Sendable (ReceivedRequest) -> ScriptedResponse? = { _ in answers.withLock { $0.isEmpty ? nil : $0.removeFirst() } }
        try await Self.withCertificates { certificates in
            try await LoopbackHTTPSServer.run(certificates: certificates, handle: google.handler(tokenURL: { tokenURL.withLock { $0 } }, script: script)) { server in
                tokenURL.withLock { $0 = server.baseURL.absoluteString + "/token" }
                var configured = account
                configured.tokenURI = server.baseURL.absoluteString + "/token"
                let http = try PushHTTPClient(allowsPrivateTargets: true, extraCAFile: certificates.caFile)
                let client = FCMClient(http: http, tokens: FCMAccessTokens(http: http, tokenURL: nil, now: { Date() }), baseURL: server.baseURL, now: { Date() })

                let first = await client.send(Self.push(), deviceToken: "fcm-token-1", account: configured)
                let second = await client.send(Self.push(), deviceToken: "fcm-token-1", account: configured)
                let gone = await client.send(Self.push(), deviceToken: "fcm-token-2", account: configured)
                let quota = await client.send(Self.push(), deviceToken: "fcm-token-1", account: configured)
                let unavailable = await client.send(Self.push(), deviceToken: "fcm-token-1", account: configured)
                google.revokeTokens()
                let afterRevocation = await client.send(Self.push(), deviceToken: "fcm-token-1", account: configured)
                await http.shutdown()

                #expect(google.violations.all == [])
                #expect(first.outcome == .accepted && second.outcome == .accepted)
                #expect(first.providerID?.hasPrefix("projects/acme-bank/messages/") == true)
                #expect(gone.outcome == .unregistered && gone.reason == "UNREGISTERED")
                #expect(quota.outcome == .retry && quota.retryAfter == 120 && quota.reason == "QUOTA_EXCEEDED")
                #expect(unavailable.outcome == .retry && unavailable.statusCode == 503)
                #expect(afterRevocation.outcome == .accepted)
                #expect(google.tokensIssued.count == 2, "one token until it was refused, then one more")
                let send = try #require(server.requests.first { $0.path.hasSuffix(":send") })
                #expect(send.isHTTP2)
                guard case .object(let body) = try JSONValue.parse(send.body), case .object(let message)? = body["message"],
                    case .object(let data)? = message["data"]
                else { Issue.record("no message"); return }
                #expect(data["id"] == .string("inb_0123456789abcdef"))
                #expect(message["token"] == .string("fcm-token-1"))
            }
        }
    }

    // MARK: Web Push

    @Test("Web Push: the receiver checks VAPID and decrypts the payload with its own keys; 410 means the subscription is gone")
    func webPush() async throws {
        let receiver = FakeWebPushReceiver()
        let origin = Mutex("")
        let gone: @Sendable (ReceivedRequest) -> ScriptedResponse? = { request in request.path.hasSuffix("/gone") ? ScriptedResponse(.gone) : nil }
        try await Self.withCertificates { certificates in
            try await LoopbackHTTPSServer.run(certificates: certificates, handle: receiver.handler(origin: { origin.withLock { $0 } }, script: gone)) { server in
                origin.withLock { $0 = server.baseURL.absoluteString }
                let http = try PushHTTPClient(allowsPrivateTargets: true, extraCAFile: certificates.caFile)
                let client = WebPushClient(http: http, now: { Date() })
                let vapid = VAPID(key: P256.Signing.PrivateKey())
                let keys = Device.WebPushSubscription.Keys(p256dh: receiver.p256dh, auth: receiver.authBase64URL)

                let sent = await client.send(
                    Self.push(), to: .init(endpoint: server.baseURL.absoluteString + "/push/sub-1", keys: keys), vapid: vapid, category: .security)
                let expired = await client.send(
                    Self.push(), to: .init(endpoint: server.baseURL.absoluteString + "/push/gone", keys: keys), vapid: vapid, category: .security)
                await http.shutdown()

                #expect(receiver.violations.all == [])
                #expect(sent.outcome == .accepted && sent.statusCode == 201)
                #expect(expired.outcome == .unregistered)
                let delivered = try #require(receiver.received.first)
                #expect(delivered.vapidKey == vapid.publicKeyBase64URL)
                guard case .object(let payload) = try JSONValue.parse(delivered.payload) else { Issue.record("payload"); return }
                #expect(payload["type"] == .string("inbox"))
                #expect(payload["appId"] == .string("app_test"))
                #expect(payload["id"] == .string("inb_0123456789abcdef"))
                #expect(payload["title"] == .string("New secure message"))
                let request = try #require(server.requests.first)
                #expect(request.header("urgency") == "high")
                #expect(request.header("ttl").flatMap(Int.init).map { $0 > 3500 && $0 <= 3600 } == true)
            }
        }
    }

    @Test("A provider URL on loopback is refused unless private targets are allowed, and nothing is sent")
    func refusesPrivateTargets() async throws {
        let (credentials, key) = Self.apnsSetup()
        let fake = FakeAPNs(teamId: credentials.teamId, keyId: credentials.keyId, topic: credentials.topic, publicKey: key.publicKey)
        try await Self.withCertificates { certificates in
            try await LoopbackHTTPSServer.run(certificates: certificates, handle: fake.handler()) { server in
                let http = try PushHTTPClient(allowsPrivateTargets: false, extraCAFile: certificates.caFile)
                let client = APNsClient(http: http, tokens: APNsTokenSigner(now: { Date() }), baseURL: server.baseURL, now: { Date() })

                let result = await client.send(Self.push(), deviceToken: Self.deviceToken, credentials: credentials)
                await http.shutdown()

                #expect(result.outcome == .failed)
                #expect(result.reason?.contains("--allow-private-targets") == true)
                #expect(server.requests.isEmpty)
            }
        }
    }
}
