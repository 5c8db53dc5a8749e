import Crypto
import Foundation
import HTTPTypes
import HeraldCore
import HeraldPush
@testable import HeraldServer
import HeraldStore
import HeraldTestSupport
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// The push worker end to end: the server's own outbox, its HTTP/2 client, and loopback APNs and
/// Web Push servers that check every request as the real ones do.
@Suite("Push dispatch")
struct PushWorkerTests {
    static func deviceToken(_ seed: String) -> String { String(repeating: seed, count: 64 / seed.count) }

    /// A harness whose APNs URL is a loopback fake, with APNs credentials set, and a Web Push receiver.
    static func withProviders(
        apnsScript: @escaping @Sendable (ReceivedRequest) -> ScriptedResponse? = { _ in nil },
        _ body: @escaping @Sendable (TestHarness, TestClock, FakeAPNs, LoopbackHTTPSServer, FakeWebPushReceiver, LoopbackHTTPSServer) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-pushtest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificates = try TestCertificates(directory: directory)
        let clock = TestClock(Date())
        let key = P256.Signing.PrivateKey()
        let apns = FakeAPNs(teamId: "TEAM123456", keyId: "KEY1234567", topic: "com.acme.bank", publicKey: key.publicKey, now: clock.now)
        let receiver = FakeWebPushReceiver()
        let origin = Mutex("")
        try await LoopbackHTTPSServer.run(certificates: certificates, handle: apns.handler(script: apnsScript)) { apnsServer in
            try await LoopbackHTTPSServer.run(certificates: certificates, handle: receiver.handler(origin: { origin.withLock { $0 } })) { webPushServer in
                origin.withLock { $0 = webPushServer.baseURL.absoluteString }
                try await TestHarness.with(clock: clock, configure: { configuration in
                    configuration.apnsURL = apnsServer.baseURL
                    configuration.extraCAFile = certificates.caFile
                    configuration.allowsPrivateTargets = true
                }) { harness in
                    let credentials = APNsCredentials(
                        teamId: apns.teamId, keyId: apns.keyId, privateKey: key.pemRepresentation, topic: apns.topic, environment: .production)
                    try await harness.store.putPushCredentials(.apns, secret: try JSONEncoder().encode(credentials), in: harness.app)
                    try await body(harness, clock, apns, apnsServer, receiver, webPushServer)
                }
            }
        }
    }

    static func registerAPNs(_ harness: TestHarness, _ name: String, token: String) async throws -> Device {
        try await harness.store.registerDevice(NewDevice(platform: .apns, token: token), for: harness.user(name), in: harness.app).device
    }

    static func registerWebPush(_ harness: TestHarness, _ name: String, receiver: FakeWebPushReceiver, server: LoopbackHTTPSServer, path: String) async throws -> Device {
        let subscription = Device.WebPushSubscription(
            endpoint: server.baseURL.absoluteString + path, keys: .init(p256dh: receiver.p256dh, auth: receiver.authBase64URL))
        return try await harness.store.registerDevice(
            NewDevice(platform: .webpush, token: subscription.endpoint, subscription: subscription), for: harness.user(name), in: harness.app
        ).device
    }

    /// A security notification to `names`, without reading any inbox (reading marks items delivered).
    @discardableResult
    static func notify(_ harness: TestHarness, _ names: [String]) async throws -> NotificationID {
        let new = NewNotification(audience: .users(names.map(harness.user)), category: .security, source: .content(title: "Alert", body: "Check your account"))
        return try await harness.parts.notifications.send(new, app: harness.app, idempotency: nil).report.id
    }

    static func words(_ data: Data) -> String { String(decoding: data, as: UTF8.self).lowercased() }

    @Test("A connected customer gets no push; each offline one gets exactly one per item, and it reveals nothing of the content")
    func onlineNoPushOfflineOnce() async throws {
        try await Self.withProviders { harness, clock, apns, apnsServer, receiver, webPushServer in
            _ = try await Self.registerAPNs(harness, "ana", token: Self.deviceToken("a1"))
            _ = try await Self.registerAPNs(harness, "ben", token: Self.deviceToken("b2"))
            _ = try await Self.registerWebPush(harness, "cat", receiver: receiver, server: webPushServer, path: "/push/cat")
            try await harness.run(.live) { client in
                let ana = try #require(try await client.readySocket(as: "ana", harness: harness))
                let sent = try await client.request(
                    .post, "/v1/notifications", auth: harness.apiKey,
                    body: #"{"recipients":["ana","ben","cat"],"category":"security","content":{"title":"Card 4242 charged €1,250.00","body":"Electro World, Lisbon. Was it you?"}}"#)
                #expect(sent.status == .created)
                #expect(await ana.next("inbox.created") != nil)
                let worker = try harness.parts.pushWorker()

                #expect(try await worker.runOnce() == 0, "nothing is due before the grace period")
                clock.advance(by: OutboxKind.pushGrace + 1)
                try await worker.runOnce()
                try await worker.runOnce()
                await worker.providers.shutdown()
                await ana.close()

                #expect(apns.violations.all == [] && receiver.violations.all == [])
                #expect(apnsServer.requests.map(\.path) == ["/3/device/\(Self.deviceToken("b2"))"])
                #expect(receiver.received.map(\.path) == ["/push/cat"])
                let secretWords = ["4242", "1,250", "1250", "electro", "lisbon", "charged", "was it you"]
                for payload in apnsServer.requests.map(\.body) + receiver.received.map(\.payload) {
                    let text = Self.words(payload)
                    #expect(secretWords.allSatisfy { !text.contains($0) }, "\(text)")
                    #expect(text.contains("new secure message"))
                }
                let deliveries = try await client.request(.get, "/v1/push/deliveries?userId=ben", auth: harness.apiKey)
                #expect(deliveries.status == .ok)
                #expect(deliveries.text.contains(#""outcome":"accepted""#))
                #expect(!deliveries.text.contains("Electro"))
            }
        }
    }

    @Test("A chat message is pushed to offline members only, never to the sender or a connected member")
    func messagePushesOfflineMembers() async throws {
        try await Self.withProviders { harness, clock, apns, apnsServer, _, _ in
            _ = try await Self.registerAPNs(harness, "ana", token: Self.deviceToken("a1"))
            _ = try await Self.registerAPNs(harness, "ben", token: Self.deviceToken("b2"))
            _ = try await Self.registerAPNs(harness, "cat", token: Self.deviceToken("c3"))
            let channel = try await harness.group(["ana", "ben", "cat"])
            try await harness.run(.live) { client in
                let ben = try #require(try await client.readySocket(as: "ben", harness: harness))
                let message = try await harness.post("Your dispute is resolved", to: channel, from: "ana")
                #expect(await ben.next("message.created") != nil)
                let worker = try harness.parts.pushWorker()

                clock.advance(by: OutboxKind.pushGrace + 1)
                try await worker.runOnce()
                try await worker.runOnce()
                await worker.providers.shutdown()
                await ben.close()

                #expect(apns.violations.all == [])
                #expect(apnsServer.requests.map(\.path) == ["/3/device/\(Self.deviceToken("c3"))"])
                let body = try JSONValue.parse(try #require(apnsServer.requests.first).body)
                guard case .object(let fields) = body, case .object(let herald)? = fields["herald"] else { Issue.record("no ids"); return }
                #expect(herald["type"] == .string("message"))
                #expect(herald["id"] == .string(message.id.rawValue))
                #expect(herald["channelId"] == .string(channel.id.rawValue))
                #expect(!Self.words(try #require(apnsServer.requests.first).body).contains("dispute"))
            }
        }
    }

    @Test("A dead token removes the device; a rate-limited push waits for Retry-After and then goes once, not to devices that already took it")
    func retriesAndRemovals() async throws {
        let deadToken = Self.deviceToken("dd")
        let limitedToken = Self.deviceToken("ee")
        let limitedOnce = Mutex(true)
        let script: @Sendable (ReceivedRequest) -> ScriptedResponse? = { request in
            if request.path.hasSuffix(deadToken) { return ScriptedResponse(.gone, json: #"{"reason":"Unregistered"}"#) }
            if request.path.hasSuffix(limitedToken), limitedOnce.withLock({ isFirst in
                defer { isFirst = false }
                return isFirst
            }) {
                return ScriptedResponse(.tooManyRequests, headers: [.retryAfter: "600"], json: #"{"reason":"TooManyRequests"}"#)
            }
            return nil
        }
        try await Self.withProviders(apnsScript: script) { harness, clock, _, apnsServer, _, _ in
            let dead = try await Self.registerAPNs(harness, "ben", token: deadToken)
            _ = try await Self.registerAPNs(harness, "ben", token: limitedToken)
            _ = try await Self.registerAPNs(harness, "ben", token: Self.deviceToken("ff"))
            try await Self.notify(harness, ["ben"])
            let worker = try harness.parts.pushWorker()

            clock.advance(by: OutboxKind.pushGrace + 1)
            try await worker.runOnce()
            let afterFirst = apnsServer.requests.count
            clock.advance(by: 300)
            let early = try await worker.runOnce()
            clock.advance(by: 301)
            try await worker.runOnce()
            try await worker.runOnce()
            await worker.providers.shutdown()

            #expect(afterFirst == 3)
            #expect(early == 0, "Retry-After is honoured")
            #expect(apnsServer.requests.count == 4, "the retry goes only to the device that was rate limited")
            #expect(apnsServer.requests.last?.path.hasSuffix(limitedToken) == true)
            let devices = try await harness.store.devices(of: harness.user("ben"), in: harness.app)
            #expect(!devices.contains { $0.id == dead.id })
            #expect(devices.count == 2)
            let log = try await harness.store.pushDeliveries(of: harness.user("ben"), in: harness.app, limit: 10, before: nil).map(\.delivery.outcome)
            #expect(log.sorted { $0.rawValue < $1.rawValue } == [.accepted, .accepted, .retrying, .unregistered])
        }
    }

    @Test("An item the customer already opened is not pushed; an app without credentials for a platform records the push as skipped")
    func readAndSkipped() async throws {
        try await Self.withProviders { harness, clock, _, apnsServer, _, _ in
            _ = try await harness.store.deletePushCredentials(.apns, of: harness.app)
            _ = try await Self.registerAPNs(harness, "ben", token: Self.deviceToken("b2"))
            _ = try await Self.registerAPNs(harness, "cat", token: Self.deviceToken("c3"))
            try await Self.notify(harness, ["ben", "cat"])
            let benItem = try #require(try await harness.store.inbox(of: harness.user("ben"), in: harness.app, query: InboxQuery()).items.first)
            _ = try await harness.store.markInboxItemRead(benItem.id, of: harness.user("ben"), in: harness.app)
            let worker = try harness.parts.pushWorker()

            clock.advance(by: OutboxKind.pushGrace + 1)
            try await worker.runOnce()
            await worker.providers.shutdown()

            #expect(apnsServer.requests.isEmpty)
            #expect(try await harness.store.pushDeliveries(of: harness.user("ben"), in: harness.app, limit: 10, before: nil).isEmpty)
            let cat = try await harness.store.pushDeliveries(of: harness.user("cat"), in: harness.app, limit: 10, before: nil)
            #expect(cat.map(\.delivery.outcome) == [.skipped])
        }
    }

    @Test("A category set to full shows its title and body, others stay generic; /metrics counts pushes per provider")
    func fullContentAndMetrics() async throws {
        try await Self.withProviders { harness, clock, apns, apnsServer, _, _ in
            _ = try await Self.registerAPNs(harness, "ben", token: Self.deviceToken("b2"))
            try await harness.run { client in
                let settings = try await client.request(
                    .put, "/v1/settings", auth: harness.apiKey, body: #"{"push":{"content":{"transactional":"full"}}}"#)
                #expect(settings.status == .ok)
                for (category, title) in [("transactional", "Statement ready"), ("security", "Sign-in from Chrome")] {
                    let sent = try await client.request(
                        .post, "/v1/notifications", auth: harness.apiKey,
                        body: #"{"recipients":["ben"],"category":"\#(category)","content":{"title":"\#(title)","body":"November statement"}}"#)
                    #expect(sent.status == .created)
                }
                clock.advance(by: OutboxKind.pushGrace + 1)
                let worker = try harness.parts.pushWorker()
                try await worker.runOnce()
                await worker.providers.shutdown()

                #expect(apns.violations.all == [])
                let bodies = apnsServer.requests.map { Self.words($0.body) }
                #expect(bodies.count == 2)
                #expect(bodies.filter { $0.contains("statement ready") && $0.contains("november statement") }.count == 1)
                #expect(bodies.filter { $0.contains("sign-in") || $0.contains("chrome") }.isEmpty)
                let metrics = try await client.request(.get, "/metrics").text
                #expect(metrics.contains(#"herald_push_sent_total{provider="apns"} 2"#), "\(metrics)")
                #expect(metrics.contains("herald_push_duration_seconds"))
            }
        }
    }
}
