import AsyncHTTPClient
import Crypto
import Foundation
import HeraldCore
import HeraldTestSupport
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Synchronization
import HummingbirdWSClient
import Logging
import NIOSSL
import Testing

@Suite("The real herald binary", .serialized)
struct EndToEndTests {
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("herald-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    struct Created: Decodable {
        var appId: String
        var apiKey: String
    }

    static func createApp(data: URL) throws -> Created {
        let (status, output) = try HeraldProcess.command(["apps", "create", "--name", "Acme", "--data", data.path, "--json"])
        #expect(status == 0)
        return try JSONDecoder().decode(Created.self, from: Data(output.utf8))
    }

    /// One HTTP call; nil when the server could not be reached (killed, restarting).
    @discardableResult
    static func call(
        _ method: HTTPMethod, _ url: String, key: String, body: String? = nil, headers: [(String, String)] = []
    ) async -> (status: Int, body: Data)? {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let bytes = try await response.body.collect(upTo: 1 << 24)
            return (Int(response.status.code), Data(buffer: bytes))
        } catch {
            return nil
        }
    }

    @Test("Every acknowledged message survives kill -9 exactly once, with gap-free seqs")
    func killNineLosesNothingAcknowledged() async throws {
        let data = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let app = try Self.createApp(data: data)
        var server = try await HeraldProcess.start(data: data)
        for name in ["ana", "ben"] { await Self.call(.PUT, "\(server.baseURL)/v1/users/\(name)", key: app.apiKey, body: "{}") }
        let created = try #require(await Self.call(.POST, "\(server.baseURL)/v1/channels", key: app.apiKey, body: #"{"type":"group","members":["ana","ben"]}"#))
        let channel = try WireJSON.decoder().decode(Channel.self, from: created.body)

        // 400 sends from 32 concurrent senders; the server is killed once 150 are acknowledged.
        let acknowledged = Acknowledgements()
        let total = 400
        let baseURL = server.baseURL
        let victim = server
        await withTaskGroup(of: Void.self) { group in
            for sender in 0..<32 {
                group.addTask {
                    // Stop once the server is dead: the HTTP client would retry the connection until its deadline.
                    for index in stride(from: sender, to: total, by: 32) where !acknowledged.isServerKilled {
                        let key = "send-\(index)"
                        guard
                            let response = await Self.call(
                                .POST, "\(baseURL)/v1/channels/\(channel.id)/messages", key: app.apiKey, body: #"{"text":"\#(key)"}"#,
                                headers: [("Idempotency-Key", key)]),
                            response.status == 201, let message = try? WireJSON.decoder().decode(Message.self, from: response.body)
                        else { continue }
                        let count = acknowledged.record(message, for: key)
                        if count == 150 {
                            acknowledged.serverKilled()
                            victim.signal(SIGKILL)
                        }
                    }
                }
            }
        }
        _ = await server.exitStatus()

        server = try await HeraldProcess.start(data: data)
        var stored: [Message] = []
        var after: Int64 = 0
        while true {
            let page = try #require(await Self.call(.GET, "\(server.baseURL)/v1/channels/\(channel.id)/messages?after=\(after)&limit=200", key: app.apiKey))
            let decoded = try WireJSON.decoder().decode(MessagePage.self, from: page.body)
            stored += decoded.messages
            after = decoded.messages.last?.seq ?? after
            if !decoded.hasMore { break }
        }

        let acks = acknowledged.all
        #expect(acks.count >= 150)
        #expect(stored.map(\.seq) == Array(1...Int64(stored.count)), "seqs are gap-free")
        #expect(Set(stored.map(\.text)).count == stored.count, "no message is stored twice")
        let storedByID = Dictionary(uniqueKeysWithValues: stored.map { ($0.id, $0) })
        for (key, message) in acks {
            #expect(storedByID[message.id] == message, "acknowledged \(key) is stored as acknowledged")
        }

        // Retrying every send with its key completes the set without a duplicate.
        for index in 0..<total {
            let key = "send-\(index)"
            let response = await Self.call(
                .POST, "\(server.baseURL)/v1/channels/\(channel.id)/messages", key: app.apiKey, body: #"{"text":"\#(key)"}"#,
                headers: [("Idempotency-Key", key)])
            #expect(response?.status == 201 || response?.status == 200)
        }
        let last = try #require(await Self.call(.GET, "\(server.baseURL)/v1/channels/\(channel.id)", key: app.apiKey))
        #expect(try WireJSON.decoder().decode(Channel.self, from: last.body).lastSeq == Int64(total))
        #expect(await server.stop(with: SIGTERM) == 0)
    }

    @Test("A scheduled notification survives kill -9 and reaches the customer's socket after the restart")
    func scheduledSendSurvivesKill() async throws {
        let data = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let app = try Self.createApp(data: data)
        var server = try await HeraldProcess.start(data: data)
        await Self.call(.PUT, "\(server.baseURL)/v1/users/ana", key: app.apiKey, body: "{}")
        let issued = try #require(await Self.call(.POST, "\(server.baseURL)/v1/users/ana/tokens", key: app.apiKey))
        let token = try #require(try JSONSerialization.jsonObject(with: issued.body) as? [String: Any])["token"] as? String
        let sendAt = WireTime.format(Date().addingTimeInterval(3))
        let scheduled = await Self.call(
            .POST, "\(server.baseURL)/v1/notifications", key: app.apiKey,
            body: #"{"recipients":["ana"],"category":"transactional","content":{"title":"Payment due tomorrow","body":"120 EUR"},"sendAt":"\#(sendAt)"}"#)

        server.signal(SIGKILL)
        _ = await server.exitStatus()
        server = try await HeraldProcess.start(data: data)
        let socket = TestSocket(port: server.port, auth: .header(try #require(token)))
        #expect(await socket.ready())
        // Bounded: if the schedule never fires, the server is stopped after a minute, which closes the socket.
        let restarted = server
        let frame = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                if (try? await Task.sleep(for: .seconds(60))) != nil { restarted.signal(SIGTERM) }
            }
            let frame = await socket.next("inbox.created")
            group.cancelAll()
            return frame
        }

        #expect(scheduled?.status == 201)
        guard case .inboxCreated(let item)? = frame else {
            Issue.record("the scheduled item never arrived")
            return
        }
        #expect(item.title == "Payment due tomorrow")
        #expect(await server.stop(with: SIGTERM) == 0)
    }

    @Test("Pushes pending at kill -9 are sent after the restart, one per device and item")
    func pendingPushesSurviveKill() async throws {
        let data = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let certificates = try TestCertificates(directory: data)
        let receiver = FakeWebPushReceiver()
        let origin = Mutex("")
        try await LoopbackHTTPSServer.run(certificates: certificates, handle: receiver.handler(origin: { origin.withLock { $0 } })) { pushService in
            origin.withLock { $0 = pushService.baseURL.absoluteString }
            let app = try Self.createApp(data: data)
            let arguments = ["--allow-private-targets", "--extra-ca-file", certificates.caFile]
            var server = try await HeraldProcess.start(data: data, extraArguments: arguments)
            let names = (0..<20).map { "customer-\($0)" }
            for name in names {
                await Self.call(.PUT, "\(server.baseURL)/v1/users/\(name)", key: app.apiKey, body: "{}")
                let issued = try #require(await Self.call(.POST, "\(server.baseURL)/v1/users/\(name)/tokens", key: app.apiKey))
                let token = try #require(try JSONSerialization.jsonObject(with: issued.body) as? [String: Any])["token"] as? String
                let registered = await Self.call(
                    .POST, "\(server.baseURL)/v1/me/devices", key: try #require(token),
                    body: #"{"platform":"webpush","subscription":{"endpoint":"\#(pushService.baseURL.absoluteString)/push/\#(name)","keys":{"p256dh":"\#(receiver.p256dh)","auth":"\#(receiver.authBase64URL)"}}}"#)
                #expect(registered?.status == 201)
            }
            let recipients = names.map { "\"\($0)\"" }.joined(separator: ",")
            let sent = await Self.call(
                .POST, "\(server.baseURL)/v1/notifications", key: app.apiKey,
                body: #"{"recipients":[\#(recipients)],"category":"security","content":{"title":"Sign-in from a new phone","body":"Was it you?"}}"#)

            // Within the push grace period after the commit: every push is still pending.
            server.signal(SIGKILL)
            _ = await server.exitStatus()
            #expect(sent?.status == 201)
            #expect(receiver.received.isEmpty)
            server = try await HeraldProcess.start(data: data, extraArguments: arguments)
            let restarted = server
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    if (try? await Task.sleep(for: .seconds(60))) != nil { restarted.signal(SIGTERM) }
                }
                await pushService.waitForRequests(names.count)
                group.cancelAll()
            }
            // The worker writes its log at the end of each pass; a graceful stop lets the last pass
            // finish, so the log read from the restarted server is complete.
            #expect(await server.stop(with: SIGTERM) == 0)
            let reader = try await HeraldProcess.start(data: data, extraArguments: arguments)
            let log = try #require(await Self.call(.GET, "\(reader.baseURL)/v1/push/deliveries?limit=200", key: app.apiKey))
            #expect(await reader.stop(with: SIGTERM) == 0)
            let entries = try #require(try JSONSerialization.jsonObject(with: log.body) as? [String: Any])["deliveries"] as? [[String: Any]]
            let accepted = entries?.filter { $0["outcome"] as? String == "accepted" }.count ?? 0

            #expect(receiver.violations.all == [])
            #expect(Set(receiver.received.map(\.path)) == Set(names.map { "/push/\($0)" }))
            #expect(receiver.received.count == names.count)
            let ids = receiver.received.compactMap { entry -> String? in
                guard case .object(let fields)? = try? JSONValue.parse(entry.payload), case .string(let id)? = fields["id"] else { return nil }
                return id
            }
            #expect(Set(ids).count == names.count)
            #expect(accepted == names.count)
        }
    }

    @Test("With --tls-cert and --tls-key the server speaks HTTPS and WSS only, with security headers and HSTS")
    func tls() async throws {
        let data = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let certificates = try TestCertificates(directory: data)
        let app = try Self.createApp(data: data)
        let server = try await HeraldProcess.start(
            data: data, extraArguments: ["--tls-cert", certificates.serverCertificateFile, "--tls-key", certificates.serverKeyFile])
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.file(certificates.caFile)]
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        let base = "https://127.0.0.1:\(server.port)"
        do {

        let health = try await client.execute(HTTPClientRequest(url: base + "/health"), timeout: .seconds(10))
        var putUser = HTTPClientRequest(url: base + "/v1/users/ana")
        putUser.method = .PUT
        putUser.headers.add(name: "Authorization", value: "Bearer \(app.apiKey)")
        putUser.headers.add(name: "Content-Type", value: "application/json")
        putUser.body = .bytes(ByteBuffer(string: "{}"))
        _ = try await client.execute(putUser, timeout: .seconds(10))
        var tokenRequest = HTTPClientRequest(url: base + "/v1/users/ana/tokens")
        tokenRequest.method = .POST
        tokenRequest.headers.add(name: "Authorization", value: "Bearer \(app.apiKey)")
        let issued = try await client.execute(tokenRequest, timeout: .seconds(10)).body.collect(upTo: 1 << 16)
        let token = try #require(try JSONSerialization.jsonObject(with: Data(buffer: issued)) as? [String: Any])["token"] as? String
        let plain = await Self.call(.GET, "http://127.0.0.1:\(server.port)/health", key: app.apiKey)
        var socketConfiguration = WebSocketClientConfiguration(sniHostname: "localhost")
        socketConfiguration.additionalHeaders[.authorization] = "Bearer \(try #require(token))"
        let firstFrame = Mutex<String?>(nil)
        _ = try await WebSocketClient.connect(
            url: "wss://127.0.0.1:\(server.port)/v1/realtime", configuration: socketConfiguration, tlsConfiguration: tls, logger: Logger(label: "wss")
        ) { inbound, outbound, _ in
            for try await message in inbound.messages(maxSize: 1 << 16) {
                if case .text(let text) = message { firstFrame.withLock { $0 = text } }
                break
            }
            try await outbound.close(.normalClosure, reason: nil)
        }
        #expect(health.status == .ok)
        #expect(health.headers.first(name: "strict-transport-security")?.hasPrefix("max-age=") == true)
        #expect(health.headers.first(name: "x-content-type-options") == "nosniff")
        #expect(health.headers.first(name: "x-frame-options") == "DENY")
        #expect(health.headers.first(name: "cache-control") == "no-store")
        #expect(plain == nil || plain?.status != 200, "plain HTTP is not served")
        #expect(firstFrame.withLock { $0 }?.contains(#""type":"ready""#) == true)
        } catch {
            Issue.record(error)
        }
        try await client.shutdown()
        #expect(await server.stop(with: SIGTERM) == 0)
    }

    @Test("herald backup copies the store while the server writes; the copy restores with the same master key")
    func onlineBackup() async throws {
        let data = try Self.temporaryDirectory()
        let restored = try Self.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: restored)
        }
        let app = try Self.createApp(data: data)
        let server = try await HeraldProcess.start(data: data)
        for name in ["ana", "ben"] { await Self.call(.PUT, "\(server.baseURL)/v1/users/\(name)", key: app.apiKey, body: "{}") }
        let created = try #require(await Self.call(.POST, "\(server.baseURL)/v1/channels", key: app.apiKey, body: #"{"type":"direct","members":["ana","ben"]}"#))
        let channel = try WireJSON.decoder().decode(Channel.self, from: created.body)
        await Self.call(.POST, "\(server.baseURL)/v1/channels/\(channel.id)/messages", key: app.apiKey, body: #"{"text":"before the backup","sender":"ana"}"#)
        let copy = data.appendingPathComponent("backup.sqlite").path

        // Writes go on while the backup runs.
        async let writes: Void = {
            for index in 0..<50 {
                await Self.call(.POST, "\(server.baseURL)/v1/channels/\(channel.id)/messages", key: app.apiKey, body: #"{"text":"during \#(index)","sender":"ben"}"#)
            }
        }()
        let keysCopy = data.appendingPathComponent("backup.keys").path
        let (status, output) = try HeraldProcess.command(["backup", "--data", data.path, "--out", copy, "--keys-out", keysCopy, "--json"])
        await writes
        let (again, _) = try HeraldProcess.command(["backup", "--data", data.path, "--out", copy])
        #expect(await server.stop(with: SIGTERM) == 0)
        try FileManager.default.copyItem(atPath: copy, toPath: restored.appendingPathComponent("herald.sqlite").path)
        try FileManager.default.copyItem(at: data.appendingPathComponent("master.key"), to: restored.appendingPathComponent("master.key"))
        try FileManager.default.copyItem(atPath: keysCopy, toPath: restored.appendingPathComponent("keys.sqlite").path)
        let fromBackup = try await HeraldProcess.start(data: restored)
        let history = try #require(await Self.call(.GET, "\(fromBackup.baseURL)/v1/channels/\(channel.id)/messages?after=0&limit=200", key: app.apiKey))
        #expect(await fromBackup.stop(with: SIGTERM) == 0)

        #expect(status == 0 && output.contains(#""bytes":"#))
        #expect(again == 1, "a backup never overwrites a file")
        #expect(history.status == 200)
        let page = try WireJSON.decoder().decode(MessagePage.self, from: history.body)
        #expect(page.messages.first?.text == "before the backup")
        #expect(page.messages.map(\.seq) == Array(1...Int64(page.messages.count)), "a consistent snapshot: no gap")
    }

    @Test(
        "At trace level the server's log holds no API key, token, webhook secret, provider key or device token; as JSON, every line is one object with the request's fields",
        arguments: ["text", "json"])
    func logsHoldNoSecrets(format: String) async throws {
        let data = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let app = try Self.createApp(data: data)
        let server = try await HeraldProcess.start(data: data, extraArguments: ["--log-level", "trace", "--log-format", format])
        let base = server.baseURL
        await Self.call(.PUT, "\(base)/v1/users/ana", key: app.apiKey, body: #"{"name":"Ana","metadata":{"tier":"gold"}}"#)
        let issued = try #require(await Self.call(.POST, "\(base)/v1/users/ana/tokens", key: app.apiKey))
        let issuedFields = try #require(try JSONSerialization.jsonObject(with: issued.body) as? [String: Any])
        let token = try #require(issuedFields["token"] as? String)
        let webhook = try #require(await Self.call(.PUT, "\(base)/v1/webhooks", key: app.apiKey, body: #"{"url":"https://hooks.acme.example/h","events":["action.performed"]}"#))
        let webhookFields = try #require(try JSONSerialization.jsonObject(with: webhook.body) as? [String: Any])
        let webhookSecret = try #require(webhookFields["secret"] as? String)
        let apnsKey = P256.Signing.PrivateKey().pemRepresentation
        let apnsBody = try String(decoding: JSONSerialization.data(withJSONObject: [
            "teamId": "TEAM123456", "keyId": "KEY1234567", "privateKey": apnsKey, "topic": "com.acme.bank",
        ]), as: UTF8.self)
        await Self.call(.PUT, "\(base)/v1/push/apns", key: app.apiKey, body: apnsBody)
        let deviceToken = String(repeating: "d3", count: 32)
        await Self.call(.POST, "\(base)/v1/me/devices", key: token, body: #"{"platform":"apns","token":"\#(deviceToken)"}"#)
        // Failures log too: a wrong key of the right shape, a tampered token, a bad body with a secret in it.
        let wrongKey = String(app.apiKey.dropLast(4)) + "AAAA"
        await Self.call(.GET, "\(base)/v1/users/ana", key: wrongKey)
        await Self.call(.GET, "\(base)/v1/me/inbox", key: token + "x")
        await Self.call(.PUT, "\(base)/v1/users/ana", key: app.apiKey, body: #"{"password":"\#(webhookSecret)"}"#)
        let socket = TestSocket(port: server.port, auth: .frame(token))
        #expect(await socket.ready())
        await socket.close()
        #expect(await server.stop(with: SIGTERM) == 0)

        let log = server.logText
        #expect(log.contains("rejected API key"), "the failures were logged")
        // hk_, the 16-character key id and _: the rest is the secret (which may itself contain "_").
        let secretPart = String(app.apiKey.dropFirst(20))
        for (name, secret) in [
            ("API key", secretPart), ("wrong key", String(wrongKey.suffix(20))), ("user token", String(token.suffix(30))), ("webhook secret", webhookSecret),
            ("APNs key", String(apnsKey.split(separator: "\n")[1])), ("device token", deviceToken),
        ] {
            #expect(!log.contains(secret), "\(name) in the log")
        }
        guard format == "json" else {
            // The text handler writes what was set on the request's logger (`TextLogHandler`) with each line.
            #expect(log.split(separator: "\n").contains { $0.contains("request_id=") && $0.contains("app_id=\(app.appId)") && $0.contains("route=/v1/users") })
            return
        }
        let lines = log.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(!lines.isEmpty && lines.allSatisfy { $0 != nil }, "every line is a JSON object")
        let objects = lines.compactMap { $0 }
        #expect(objects.allSatisfy { $0["time"] is String && $0["level"] is String && $0["message"] is String && $0["logger"] is String })
        let requests = objects.filter { $0["message"] as? String == "request" }
        let putUser = try #require(requests.first { $0["route"] as? String == "/v1/users/{userId}" && $0["method"] as? String == "PUT" })
        #expect(putUser["level"] as? String == "info" && putUser["status"] as? Double == 201 && putUser["app_id"] as? String == app.appId)
        #expect(putUser["request_id"] is String && putUser["duration_ms"] is Double)
        #expect(!requests.contains { ($0["route"] as? String)?.contains("ana") == true }, "routes are patterns, not paths with customer ids")
    }

    @Test("SIGTERM closes WebSockets with 1001 and exits 0")
    func gracefulShutdown() async throws {
        let data = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let app = try Self.createApp(data: data)
        let server = try await HeraldProcess.start(data: data)
        await Self.call(.PUT, "\(server.baseURL)/v1/users/ana", key: app.apiKey, body: "{}")
        let issued = try #require(await Self.call(.POST, "\(server.baseURL)/v1/users/ana/tokens", key: app.apiKey))
        let token = try #require(try JSONSerialization.jsonObject(with: issued.body) as? [String: Any])["token"] as? String
        let socket = TestSocket(port: server.port, auth: .header(try #require(token)))
        #expect(await socket.ready())

        async let status = server.stop(with: SIGTERM)

        #expect(await socket.closeCode() == 1001)
        #expect(await status == 0)
        #expect(server.logText.contains("herald stopped"))
    }

    @Test("First start creates the data directory, database and a 0600 master key, and says so")
    func firstStart() async throws {
        let parent = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let data = parent.appendingPathComponent("fresh")

        let server = try await HeraldProcess.start(data: data)
        #expect(await server.stop(with: SIGINT) == 0)

        let mode = try FileManager.default.attributesOfItem(atPath: data.appendingPathComponent("master.key").path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(FileManager.default.fileExists(atPath: data.appendingPathComponent("herald.sqlite").path))
        #expect(server.logText.contains("created master key") && server.logText.contains("created database"))
        #expect(!server.logText.contains(try String(contentsOf: data.appendingPathComponent("master.key"), encoding: .utf8).trimmingCharacters(in: .newlines)))
    }

    @Test("apps create, list and rotate-key work beside a running server")
    func appsCommandsBesideServer() async throws {
        let data = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let first = try Self.createApp(data: data)
        let server = try await HeraldProcess.start(data: data)

        let second = try Self.createApp(data: data)
        let worksAtOnce = await Self.call(.PUT, "\(server.baseURL)/v1/users/ana", key: second.apiKey, body: "{}")
        let (listStatus, list) = try HeraldProcess.command(["apps", "list", "--data", data.path, "--json"])
        let (rotateStatus, rotated) = try HeraldProcess.command(["apps", "rotate-key", "--app", first.appId, "--data", data.path, "--json"])
        let newKey = try JSONDecoder().decode(Created.self, from: Data(rotated.utf8)).apiKey
        let oldKey = await Self.call(.PUT, "\(server.baseURL)/v1/users/ana", key: first.apiKey, body: "{}")
        let freshKey = await Self.call(.PUT, "\(server.baseURL)/v1/users/ana", key: newKey, body: "{}")
        let (badStatus, _) = try HeraldProcess.command(["apps", "rotate-key", "--app", "app_nonexistent", "--data", data.path])

        #expect(worksAtOnce?.status == 201)
        #expect(listStatus == 0 && list.contains(first.appId) && list.contains(second.appId))
        #expect(rotateStatus == 0)
        #expect(oldKey?.status == 401 && freshKey?.status == 201)
        #expect(badStatus == 2, "a malformed app id is bad usage")
        #expect(await server.stop(with: SIGTERM) == 0)
    }
}

/// The sends the server acknowledged (201), by idempotency key.
final class Acknowledgements: Sendable {
    private let acks = Mutex<[String: Message]>([:])
    private let killed = Mutex(false)

    var isServerKilled: Bool { killed.withLock { $0 } }

    func serverKilled() { killed.withLock { $0 = true } }

    /// Records an acknowledged send; returns how many there are now.
    func record(_ message: Message, for key: String) -> Int {
        acks.withLock { acks in
            acks[key] = message
            return acks.count
        }
    }

    var all: [String: Message] { acks.withLock { $0 } }
}
