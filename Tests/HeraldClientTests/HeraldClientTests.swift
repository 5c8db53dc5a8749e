import Crypto
import Foundation
import GRDB
import HeraldClient
import HeraldCore
import HeraldStore
import HeraldTestSupport
import Testing

/// The SDK against the real server: connections cut and servers killed while messages flow, token
/// refresh, the outbox, verification, step-up, and a consumer that reads late.
@Suite("HeraldClient against a live server", .serialized)
struct HeraldClientTests {
    /// Every message of `channel` exactly once, seqs 1...count with no gap.
    static func isCompleteHistory(_ messages: [Message], count: Int) -> Bool {
        messages.map(\.seq) == Array(1...Int64(count))
    }

    @Test("Connections cut while both sides send: each side ends with the full ordered history, no duplicates")
    func connectionCutsLoseNothing() async throws {
        try await ClientFixture.with { fixture in
            let channel = try await fixture.directChannel("ana", "ben")
            let relay = try await TCPRelay.start(to: fixture.port)
            let viaRelay = URL(string: "http://127.0.0.1:\(relay.port)")!
            let ana = fixture.client(for: "ana", serverURL: viaRelay)
            let ben = fixture.client(for: "ben", serverURL: viaRelay)
            try await ana.follow(channel)
            try await ben.follow(channel)
            let total = 60

            try await ana.running { anaLog in
                try await ben.running { benLog in
                    #expect(await anaLog.wait { $0.contains(.connectionStateChanged(.connected)) })
                    #expect(await benLog.wait { $0.contains(.connectionStateChanged(.connected)) })
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for (client, name) in [(ana, "ana"), (ben, "ben")] {
                            group.addTask {
                                for index in 0..<(total / 2) { _ = try await client.send(text: "\(name) \(index)", to: channel) }
                            }
                        }
                        group.addTask {
                            // Each cut waits until the client is connected again after the previous one.
                            for cut in 1...3 {
                                _ = await anaLog.wait(upTo: .seconds(10)) { events in
                                    events.filter { $0 == .connectionStateChanged(.connected) }.count >= cut
                                }
                                await relay.cutAll()
                            }
                        }
                        try await group.waitForAll()
                    }
                    #expect(await anaLog.waitForMessages(total, in: channel))
                    #expect(await benLog.waitForMessages(total, in: channel))

                    let anaSaw = anaLog.messages(in: channel)
                    let benSaw = benLog.messages(in: channel)
                    #expect(Self.isCompleteHistory(anaSaw, count: total))
                    #expect(anaSaw.map(\.id) == benSaw.map(\.id))
                    #expect(Set(anaSaw.map(\.text)).count == total)
                    #expect(anaLog.events.filter { $0 == .connectionStateChanged(.connected) }.count >= 2, "the cuts forced reconnects")
                }
            }
            await relay.stop()
        }
    }

    @Test("A server killed with -9 and restarted mid-conversation: sends in the outbox go once, both sides see everything in order")
    func serverRestartLosesNothing() async throws {
        try await ClientFixture.with { fixture in
            let channel = try await fixture.directChannel("ana", "ben")
            let ana = fixture.client(for: "ana")
            let ben = fixture.client(for: "ben")
            try await ana.follow(channel)
            try await ben.follow(channel)

            try await ana.running { anaLog in
                try await ben.running { benLog in
                    #expect(await benLog.wait { $0.contains(.connectionStateChanged(.connected)) })
                    for index in 0..<10 { _ = try await ana.send(text: "before \(index)", to: channel) }
                    try await fixture.restartAfterKill()
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { for index in 0..<10 { _ = try await ana.send(text: "after \(index)", to: channel) } }
                        group.addTask { for index in 0..<10 { _ = try await ben.send(text: "reply \(index)", to: channel) } }
                        try await group.waitForAll()
                    }

                    #expect(await anaLog.waitForMessages(30, in: channel))
                    #expect(await benLog.waitForMessages(30, in: channel))
                    #expect(Self.isCompleteHistory(anaLog.messages(in: channel), count: 30))
                    #expect(anaLog.messages(in: channel).map(\.id) == benLog.messages(in: channel).map(\.id))
                    let stored = try await ana.history(of: channel, after: 0, limit: 200)
                    #expect(stored.count == 30, "no send was stored twice")
                }
            }
        }
    }

    @Test("Sends made while the server is down wait in the outbox and go out after the reconnect, once each")
    func outboxFlushesAfterReconnect() async throws {
        try await ClientFixture.with { fixture in
            let channel = try await fixture.directChannel("ana", "ben")
            let ana = fixture.client(for: "ana")
            try await ana.follow(channel)
            try await ana.running { log in
                #expect(await log.wait { $0.contains(.connectionStateChanged(.connected)) })
                let server = fixture.server.withLock { $0 }
                server.signal(SIGKILL)
                _ = await server.exitStatus()
                #expect(await log.wait { $0.contains { if case .connectionStateChanged(.waitingToReconnect) = $0 { true } else { false } } })

                let sends = (0..<5).map { index in Task { try await ana.send(text: "queued \(index)", to: channel) } }
                // Wait until the five sends reached the client (each is a task of its own).
                for _ in 0..<100_000 where await ana.pendingSends < 5 { await Task.yield() }
                #expect(await ana.pendingSends == 5)
                let restarted = try await HeraldProcess.start(data: fixture.data, port: fixture.port)
                fixture.server.withLock { $0 = restarted }
                var acknowledged: [Message] = []
                for send in sends { acknowledged.append(try await send.value) }
                await ana.waitUntilOutboxIsEmpty()

                #expect(await ana.pendingSends == 0)
                #expect(acknowledged.map(\.seq).sorted() == [1, 2, 3, 4, 5])
                #expect(try await ana.history(of: channel, after: 0).count == 5)
            }
        }
    }

    @Test("A refused token is replaced by asking the provider again, over HTTP and the socket")
    func tokenRefresh() async throws {
        try await ClientFixture.with { fixture in
            let calls = TokenCalls()
            let goodToken = try await fixture.token(for: "ana")
            var configuration = HeraldClient.Configuration(
                serverURL: fixture.baseURL, appID: fixture.appID,
                tokenProvider: {
                    calls.count()
                    // The first token the app's backend hands out has expired already.
                    return calls.total == 1 ? "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbmEifQ.expired" : goodToken
                })
            configuration.reconnectDelay = .milliseconds(50)
            let client = HeraldClient(configuration: configuration)

            let channels = try await client.channels()
            #expect(channels.isEmpty)
            #expect(calls.total == 2, "the 401 made the client ask once more")

            let socketCalls = TokenCalls()
            configuration.tokenProvider = {
                socketCalls.count()
                return socketCalls.total == 1 ? "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbmEifQ.expired" : goodToken
            }
            let socketClient = HeraldClient(configuration: configuration)
            try await socketClient.running { log in
                #expect(await log.wait { $0.contains(.connectionStateChanged(.connected)) })
            }
            #expect(socketCalls.total == 2, "the refused upgrade made the client ask once more")
        }
    }

    @Test("A seq that never arrives (a gap an older server left) is skipped after a sync, not waited for for ever")
    func permanentGapIsSkipped() async throws {
        try await ClientFixture.with { fixture in
            let channel = try await fixture.directChannel("ana", "ben")
            _ = try await fixture.platform(.POST, "/v1/channels/\(channel.rawValue)/messages", body: #"{"text":"one","sender":"ana"}"#)
            // A seq spent without a message, as the SQLite writer did for a send by a sender erased meanwhile.
            let database = try DatabaseQueue(path: fixture.data.appendingPathComponent("herald.sqlite").path)
            try await database.write { db in try db.execute(sql: "UPDATE channel SET lastSeq = lastSeq + 1 WHERE id = ?", arguments: [channel.rawValue]) }
            try await database.close()
            _ = try await fixture.platform(.POST, "/v1/channels/\(channel.rawValue)/messages", body: #"{"text":"three","sender":"ana"}"#)
            let ben = fixture.client(for: "ben")
            try await ben.follow(channel, after: 0)

            try await ben.running { log in
                #expect(await log.waitForMessages(2, in: channel))
                _ = try await ben.send(text: "four", to: channel)
                #expect(await log.waitForMessages(3, in: channel))
                #expect(log.messages(in: channel).map(\.seq) == [1, 3, 4])
            }
        }
    }

    @Test("An inbox item changed in the database after it was signed is reported unverified; the others verify")
    func tamperedItemIsUnverified() async throws {
        try await ClientFixture.with { fixture in
            for title in ["Your statement is ready", "Card 4242 blocked"] {
                try await fixture.platform(
                    .POST, "/v1/notifications", body: #"{"recipients":["ana"],"category":"transactional","content":{"title":"\#(title)","body":"Open the app"}}"#)
            }
            // Content is sealed at rest, so the attacker here holds the master key: they open the item, change
            // its title and seal it again. Only the business's signature can tell.
            let masterKey = try MasterKey(base64: String(contentsOf: fixture.data.appendingPathComponent("master.key"), encoding: .utf8))
            let keys = try KeyRing(path: fixture.data.appendingPathComponent("keys.sqlite").path, masterKeys: [masterKey])
            let appID = try #require(try await DatabaseQueue(path: fixture.data.appendingPathComponent("herald.sqlite").path).read { db in
                try String.fetchOne(db, sql: "SELECT id FROM app")
            }.flatMap(AppID.init(rawValue:)))
            let anaKey = try #require(try keys.key(.user(UserID(rawValue: "ana")!), in: appID))
            let database = try DatabaseQueue(path: fixture.data.appendingPathComponent("herald.sqlite").path)
            try await database.write { db in
                for row in try Row.fetchAll(db, sql: "SELECT position, id, sealed FROM inboxItem") {
                    let context = "inbox|" + (row["id"] as String)
                    var content = try #require(try JSONSerialization.jsonObject(with: anaKey.open(row["sealed"], context: context)) as? [String: Any])
                    guard content["title"] as? String == "Card 4242 blocked" else { continue }
                    content["title"] = "Card 4242 unblocked: call +1 555 0100"
                    let resealed = try anaKey.seal(JSONSerialization.data(withJSONObject: content), context: context)
                    try db.execute(sql: "UPDATE inboxItem SET sealed = ? WHERE position = ?", arguments: [resealed, row["position"]])
                }
            }
            try await database.close()
            try keys.close()
            let ana = fixture.client(for: "ana")

            let items = try await ana.inbox().items

            #expect(items.count == 2)
            let tampered = try #require(items.first { $0.item.title.contains("unblocked") })
            let genuine = try #require(items.first { $0.item.title == "Your statement is ready" })
            #expect(tampered.verification == .unverified(reason: "the fields differ from what was signed"))
            #expect(genuine.verification == .verified)
        }
    }

    @Test("A broadcast, stored once and signed on first read, verifies in each reader's inbox, keeps its signature across a kill -9, and never verifies in another's")
    func broadcastVerifies() async throws {
        try await ClientFixture.with { fixture in
            try await fixture.platform(
                .POST, "/v1/notifications", body: #"{"recipients":["ana","ben"],"category":"transactional","content":{"title":"New rates","body":"From 1 January"}}"#)
            let (ana, ben) = (fixture.client(for: "ana"), fixture.client(for: "ben"))

            let forAna = try #require(try await ana.inbox().items.first)
            let forBen = try #require(try await ben.inbox().items.first)
            // Signed again, the item would name the new key: it keeps the signature made on its first read.
            _ = try await fixture.platform(.POST, "/v1/signing-keys/rotate")
            try await fixture.restartAfterKill()
            let again = try #require(try await ana.inbox().items.first)
            let keys = try JSONDecoder().decode(JWKSet.self, from: try await fixture.platform(.GET, "/v1/apps/\(fixture.appID)/keys"))
            var benWithAnasSignature = forBen.item
            benWithAnasSignature.jws = forAna.item.jws

            #expect(forAna.verification == .verified && forBen.verification == .verified)
            #expect(again.item.jws == forAna.item.jws, "signed once, then kept")
            #expect(SenderVerifier(app: fixture.appID, keys: keys).verify(benWithAnasSignature) == .unverified(reason: "the fields differ from what was signed"))
            var unsigned = forAna.item
            unsigned.jws = ""
            #expect(SenderVerifier(app: fixture.appID, keys: keys).verify(unsigned) == .unverified(reason: "no signature"))
        }
    }

    @Test("Step-up: the device approves a verified item with its key; a second attempt answers with the first result")
    func stepUpApproval() async throws {
        try await ClientFixture.with { fixture in
            try await fixture.platform(
                .POST, "/v1/notifications",
                body: #"{"recipients":["ana"],"category":"security","content":{"title":"Pay €1,250.00 to Electro World?","body":"Card ending 4242"},"actions":[{"id":"approve","label":"Approve","stepUp":true},{"id":"decline","label":"Decline"}]}"#)
            let ana = fixture.client(for: "ana")
            let signer = SoftwareStepUpSigner()
            let registered = try await ana.registerDevice(platform: .fcm, token: "fcm-token-ana", stepUpSigner: signer)
            let device = registered.deviceId
            let item = try #require(try await ana.inbox().items.first)
            #expect(item.verification == .verified)
            #expect(registered.stepUp?.state == .pending && registered.stepUp?.thumbprint == signer.publicKey.thumbprint)
            await #expect(throws: HeraldClientError.self, "a pending key approves nothing") {
                _ = try await ana.perform("approve", on: item.item, stepUp: StepUpDevice(deviceID: device, signer: signer))
            }
            // The bank activates the key after its own strong authentication of Ana.
            try await fixture.platform(.POST, "/v1/users/ana/devices/\(device)/step-up/activate")

            let approved = try await ana.perform("approve", on: item.item, stepUp: StepUpDevice(deviceID: device, signer: signer))
            let again = try await ana.perform("decline", on: item.item)
            let otherDevice = SoftwareStepUpSigner()

            #expect(approved.status == "accepted" && approved.actionId == "approve")
            #expect(again.actionId == "approve", "the first action stands")
            await #expect(throws: HeraldClientError.self) {
                // A signer whose key was never registered for this device is refused (403).
                _ = try await ana.perform("approve", on: item.item, stepUp: StepUpDevice(deviceID: device, signer: otherDevice))
            }
        }
    }

    @Test("A consumer that reads events late loses none of 1,500 messages, and gets them in order")
    func slowConsumerLosesNothing() async throws {
        try await ClientFixture.with { fixture in
            let channel = try await fixture.directChannel("ana", "ben")
            let ben = fixture.client(for: "ben")
            try await ben.follow(channel)
            let connected = Task {
                for await event in ben.events where event == .connectionStateChanged(.connected) { return true }
                return false
            }
            let running = Task { await ben.run() }
            #expect(await connected.value)

            for start in stride(from: 0, to: 1_500, by: 100) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in start..<(start + 100) {
                        group.addTask { try await fixture.platform(.POST, "/v1/channels/\(channel.rawValue)/messages", body: #"{"text":"m\#(index)","sender":"ana"}"#) }
                    }
                    try await group.waitForAll()
                }
            }
            var seqs: [Int64] = []
            for await event in ben.events {
                if case .messageCreated(let message, let verification) = event {
                    #expect(verification == .fromUser)
                    seqs.append(message.seq)
                }
                if seqs.count == 1_500 { break }
            }
            running.cancel()
            await running.value

            #expect(seqs == Array(1...1_500))
        }
    }

    @Test("A push's ids lead to its content, fetched and verified")
    func pushTargets() async throws {
        try await ClientFixture.with { fixture in
            try await fixture.platform(.POST, "/v1/notifications", body: #"{"recipients":["ana"],"category":"security","content":{"title":"New sign-in","body":"From Lisbon"}}"#)
            let ana = fixture.client(for: "ana")
            let item = try #require(try await ana.inbox().items.first).item
            let apnsUserInfo: [AnyHashable: Any] = ["aps": ["alert": ["title": "New secure message"]], "herald": ["type": "inbox", "appId": fixture.appID.rawValue, "id": item.id.rawValue]]

            let target = try #require(PushTarget(payload: apnsUserInfo))
            let content = try await ana.fetch(target)

            #expect(target == .inboxItem(item.id))
            guard case .inboxItem(let fetched) = content else { Issue.record("not an item"); return }
            #expect(fetched.item.title == "New sign-in" && fetched.verification == .verified)
            #expect(PushTarget(fields: ["type": "message", "id": "msg_x"]) == nil)
        }
    }
}

@Suite("HeraldClient lifecycle", .serialized)
struct HeraldClientLifecycleTests {
    @Test("stop() right after connecting starts, or once connected, ends run() and closes the socket")
    func stopEndsRun() async throws {
        try await ClientFixture.with { fixture in
            for stopWhen in [ConnectionState.connecting, .connected] {
                let client = fixture.client(for: "ana")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await client.run() }
                    for await event in client.events where event == .connectionStateChanged(stopWhen) { break }
                    await client.stop()
                    try await group.waitForAll()
                }
                #expect(await client.state == .disconnected, "\(stopWhen)")
            }
        }
    }
}

/// Handshakes that never complete: the client gives them up after `handshakeTimeout` and tries again.
@Suite("HeraldClient handshakes")
struct HeraldClientHandshakeTests {
    @Test("A server that accepts the connection but never answers the upgrade is given up on, again and again, and stop() still ends run()")
    func silentServerIsGivenUp() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        var configuration = HeraldClient.Configuration(
            serverURL: URL(string: "http://127.0.0.1:\(listener.port)")!, appID: AppID.generate(), tokenProvider: { "token" },
            pinnedKeys: JWKSet(keys: []))
        configuration.handshakeTimeout = .milliseconds(300)
        configuration.reconnectDelay = .milliseconds(20)
        configuration.maximumReconnectDelay = .milliseconds(50)
        let client = HeraldClient(configuration: configuration)
        try await client.running { log in
            let retried = await log.wait { events in events.contains(.connectionStateChanged(.waitingToReconnect(attempt: 3))) }
            #expect(retried, "three handshakes were given up")
            #expect(!log.events.contains(.connectionStateChanged(.connected)))
            await client.stop()
        }
        #expect(await client.state == .disconnected)
    }
}
