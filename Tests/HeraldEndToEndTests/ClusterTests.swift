import AsyncHTTPClient
import Foundation
import HeraldCore
import HeraldStore
import HeraldTestSupport
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Synchronization
import Testing

/// Three real `herald serve` processes on loopback ports and one PostgreSQL database: a cluster.
@Suite("A cluster of three herald nodes on one PostgreSQL database", .serialized)
struct ClusterTests {
    struct Cluster: Sendable {
        var nodes: [HeraldProcess]
        var database: String
        var masterKey: String
        var apiKey: String

        func url(_ node: Int, _ path: String) -> String { nodes[node].baseURL + path }
    }

    /// Starts `count` nodes on a fresh database with one app (made with `herald apps create --database`)
    /// and users ana, ben and cat; stops them and drops the database afterwards.
    static func withCluster(_ count: Int = 3, extraArguments: [String] = [], _ body: (inout Cluster) async throws -> Void) async throws {
        let (url, drop) = try await PostgresTestServer.freshDatabase()
        let masterKey = MasterKey.generate().base64
        let database = "postgres://\(url.username)@\(url.host):\(url.port)/\(url.database)"
        var cluster: Cluster?
        do {
            let (status, output) = try HeraldProcess.command(
                ["apps", "create", "--name", "Acme", "--database", database, "--json"], environment: ["HERALD_MASTER_KEY": masterKey])
            #expect(status == 0)
            let created = try JSONDecoder().decode(EndToEndTests.Created.self, from: Data(output.utf8))
            var nodes: [HeraldProcess] = []
            for _ in 0..<count { nodes.append(try await HeraldProcess.start(database: database, masterKey: masterKey, extraArguments: extraArguments)) }
            cluster = Cluster(nodes: nodes, database: database, masterKey: masterKey, apiKey: created.apiKey)
            for name in ["ana", "ben", "cat"] { await EndToEndTests.call(.PUT, cluster!.url(0, "/v1/users/\(name)"), key: created.apiKey, body: "{}") }
            try await body(&cluster!)
        } catch {
            for node in cluster?.nodes ?? [] { _ = await node.stop(with: SIGKILL) }
            await drop()
            throw error
        }
        for node in cluster?.nodes ?? [] { _ = await node.stop(with: SIGTERM) }
        await drop()
    }

    static func channel(_ cluster: Cluster, members: [String]) async throws -> HeraldCore.Channel {
        let members = members.map { "\"\($0)\"" }.joined(separator: ",")
        let created = try #require(await EndToEndTests.call(.POST, cluster.url(0, "/v1/channels"), key: cluster.apiKey, body: #"{"type":"group","members":[\#(members)]}"#))
        return try WireJSON.decoder().decode(HeraldCore.Channel.self, from: created.body)
    }

    static func token(_ cluster: Cluster, for name: String, node: Int) async throws -> String {
        let issued = try #require(await EndToEndTests.call(.POST, cluster.url(node, "/v1/users/\(name)/tokens"), key: cluster.apiKey))
        return try #require(try JSONSerialization.jsonObject(with: issued.body) as? [String: Any])["token"] as! String
    }

    /// What `operation` returns, or nil after `limit` (an upper bound, raced against the event).
    static func within<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async -> T?) async -> T? {
        await withTaskGroup(of: T?.self) { group in
            group.addTask { await operation() }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// The next frame of `type` on `socket`, or nil after `limit`.
    static func next(_ type: String, on socket: TestSocket, within limit: Duration = .seconds(30)) async -> ServerFrame? {
        let box = UncheckedSocket(socket)
        return await within(limit) { await box.socket.next(type) }
    }

    @Test("A node without the cluster's master key refuses to start and says why; it never makes one")
    func missingMasterKeyIsAnError() async throws {
        let (url, drop) = try await PostgresTestServer.freshDatabase()
        defer { Task { await drop() } }
        let database = "postgres://\(url.username)@\(url.host):\(url.port)/\(url.database)"
        do {
            let node = try await HeraldProcess.start(arguments: ["--database", database, "--port", "0"], environment: ["HERALD_MASTER_KEY_FILE": "/nonexistent/master.key"])
            _ = await node.stop(with: SIGKILL)
            Issue.record("a node started without a readable master key")
        } catch let failure as HeraldProcess.StartFailure {
            #expect(failure.log.contains("master key"), "\(failure.log)")
        }
        let listed = try HeraldProcess.command(["apps", "list", "--database", database])
        #expect(listed.status == 1, "commands refuse too")
    }

    @Test("What is sent through one node reaches a socket on another at once: messages, inbox items, read positions")
    func crossNodeDelivery() async throws {
        try await Self.withCluster { cluster in
            let channel = try await Self.channel(cluster, members: ["ana", "ben"])
            let ana = TestSocket(port: cluster.nodes[0].port, auth: .header(try await Self.token(cluster, for: "ana", node: 1)))
            let ben = TestSocket(port: cluster.nodes[2].port, auth: .header(try await Self.token(cluster, for: "ben", node: 2)))
            #expect(await ana.ready())
            #expect(await ben.ready())

            let sent = try #require(
                await EndToEndTests.call(.POST, cluster.url(1, "/v1/channels/\(channel.id)/messages"), key: cluster.apiKey, body: #"{"text":"via node 1"}"#))
            #expect(sent.status == 201)
            let message = try WireJSON.decoder().decode(Message.self, from: sent.body)
            for socket in [ana, ben] {
                guard case .messageCreated(let received)? = await Self.next("message.created", on: socket) else {
                    Issue.record("no message.created on a node the message was not sent through")
                    continue
                }
                #expect(received.id == message.id && received.text == "via node 1" && received.seq == 1)
            }

            let notified = await EndToEndTests.call(
                .POST, cluster.url(2, "/v1/notifications"), key: cluster.apiKey,
                body: #"{"recipients":["ana"],"category":"transactional","content":{"title":"Payment due","body":"120 EUR"}}"#)
            #expect(notified?.status == 201 || notified?.status == 202)
            guard case .inboxCreated(let item)? = await Self.next("inbox.created", on: ana) else {
                Issue.record("no inbox.created on node 0 for a notification sent through node 2")
                return
            }
            #expect(item.title == "Payment due")

            ben.send(#"{"type":"read","channelId":"\#(channel.id)","seq":1}"#)
            guard case .read(let position)? = await Self.next("read", on: ana) else {
                Issue.record("no read position on node 0 for a read on node 2")
                return
            }
            #expect(position.userId.rawValue == "ben" && position.seq == 1)
            await ana.close()
            await ben.close()
        }
    }

    @Test("An erasure through one node holds on every node at once, and the same id created again writes content every node reads")
    func erasureAcrossNodes() async throws {
        try await Self.withCluster(2) { cluster in
            let channel = try await Self.channel(cluster, members: ["ana", "ben"])
            let token = try await Self.token(cluster, for: "ana", node: 0)
            let socket = TestSocket(port: cluster.nodes[1].port, auth: .header(token))
            #expect(await socket.ready())
            // Node 1 has Ana's data key in its cache once it sealed a message of hers.
            let before = await EndToEndTests.call(.POST, cluster.url(1, "/v1/channels/\(channel.id)/messages"), key: cluster.apiKey, body: #"{"text":"before","sender":"ana"}"#)
            #expect(before?.status == 201)

            let erased = await EndToEndTests.call(.DELETE, cluster.url(0, "/v1/users/ana"), key: cluster.apiKey)
            let box = UncheckedSocket(socket)
            let closed = await Self.within(.seconds(30)) { await box.socket.closeCode() }
            let oldToken = await EndToEndTests.call(.GET, cluster.url(1, "/v1/me/inbox"), key: token)
            await EndToEndTests.call(.PUT, cluster.url(0, "/v1/users/ana"), key: cluster.apiKey, body: #"{"name":"Ana again"}"#)
            await EndToEndTests.call(.POST, cluster.url(0, "/v1/channels/\(channel.id)/members"), key: cluster.apiKey, body: #"{"members":["ana"]}"#)
            let after = await EndToEndTests.call(.POST, cluster.url(1, "/v1/channels/\(channel.id)/messages"), key: cluster.apiKey, body: #"{"text":"after","sender":"ana"}"#)
            let history = try await Self.history(of: channel.id, cluster: cluster, node: 0)

            #expect(erased?.status == 204)
            #expect(closed == 4401, "the socket on the other node closed")
            #expect(oldToken?.status == 401, "the erased user's token fails on the other node")
            #expect(after?.status == 201)
            #expect(history.last?.text == "after" && history.last?.erased == nil, "sealed with the new key, not the destroyed one node 1 had cached")
        }
    }

    @Test("A node that loses the cluster's feed closes its sockets with 1012 and listens again; a new socket gets what other nodes send")
    func lostFeedIsRecovered() async throws {
        try await Self.withCluster(2) { cluster in
            let channel = try await Self.channel(cluster, members: ["ana", "ben"])
            let ana = TestSocket(port: cluster.nodes[0].port, auth: .header(try await Self.token(cluster, for: "ana", node: 0)))
            #expect(await ana.ready())
            // The database ends every LISTEN session, as a restart of the database would.
            let url = try PostgresURL(cluster.database)
            try await PostgresAdmin.terminateListeners(on: url)
            let box = UncheckedSocket(ana)
            let closed = await Self.within(.seconds(30)) { await box.socket.closeCode() }
            #expect(closed == 1012)

            // Node 0 listens again (within its backoff, as a bound: /ready says when) and then takes sockets
            // again; until then it refuses them with 1012, since they would miss what is committed meanwhile.
            let readyURL = cluster.url(0, "/ready")
            let listening = await Self.within(.seconds(30)) { () async -> Bool? in
                while !Task.isCancelled {
                    if await EndToEndTests.call(.GET, readyURL, key: "")?.status == 200 { return true }
                    try? await Task.sleep(for: .milliseconds(100))
                }
                return nil
            }
            #expect(listening == true)
            var delivered = false
            for attempt in 0..<5 where !delivered {
                let again = TestSocket(port: cluster.nodes[0].port, auth: .header(try await Self.token(cluster, for: "ana", node: 1)))
                guard await again.ready() else { continue }
                await EndToEndTests.call(
                    .POST, cluster.url(1, "/v1/channels/\(channel.id)/messages"), key: cluster.apiKey, body: #"{"text":"after the loss \#(attempt)"}"#)
                if case .messageCreated? = await Self.next("message.created", on: again, within: .seconds(2)) { delivered = true }
                await again.close()
            }
            #expect(delivered, "a message sent through node 1 reached a socket on node 0 again")
        }
    }

    @Test("Concurrent sends to one channel through all three nodes get gap-free seqs, each message once")
    func concurrentSendsStayGapFree() async throws {
        try await Self.withCluster { cluster in
            let channel = try await Self.channel(cluster, members: ["ana", "ben"])
            let total = 150
            let snapshot = cluster
            let statuses = await withTaskGroup(of: Int.self) { group in
                for index in 0..<total {
                    group.addTask {
                        await EndToEndTests.call(
                            .POST, snapshot.url(index % 3, "/v1/channels/\(channel.id)/messages"), key: snapshot.apiKey, body: #"{"text":"m\#(index)"}"#)?.status ?? 0
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 201 })
            let history = try await Self.history(of: channel.id, cluster: cluster, node: 1)
            #expect(history.map(\.seq) == Array(1...Int64(total)))
            #expect(Set(history.map(\.text)).count == total)
        }
    }

    static func history(of channel: ChannelID, cluster: Cluster, node: Int) async throws -> [Message] {
        try await history(of: channel, baseURL: cluster.nodes[node].baseURL, key: cluster.apiKey)
    }

    /// The whole history of `channel`, page by page, through the Platform API.
    static func history(of channel: ChannelID, baseURL: String, key: String) async throws -> [Message] {
        var messages: [Message] = []
        var cursor: Int64 = 0
        while true {
            let page = try #require(await EndToEndTests.call(.GET, "\(baseURL)/v1/channels/\(channel)/messages?after=\(cursor)&limit=100", key: key))
            let decoded = try WireJSON.decoder().decode(MessagePage.self, from: page.body)
            messages += decoded.messages
            guard decoded.hasMore, let last = decoded.messages.last else { return messages }
            cursor = last.seq
        }
    }

    @Test(
        "A node killed with SIGKILL mid-load loses no acknowledged message; its client resumes on another node with sync, missing nothing; the survivors do the outbox work once"
    )
    func nodeKilledMidLoad() async throws {
        try await WebhookReceiver.with { receiver in
        try await Self.withCluster(extraArguments: ["--allow-private-targets"]) { cluster in
            let channel = try await Self.channel(cluster, members: ["ana", "ben"])
            // Ben follows the channel on node 2, the one that dies.
            let ben = TestSocket(port: cluster.nodes[2].port, auth: .header(try await Self.token(cluster, for: "ben", node: 0)))
            #expect(await ben.ready())

            let acknowledged = Acknowledgements()
            let total = 300
            let snapshot = cluster
            let victim = cluster.nodes[2]
            await withTaskGroup(of: Void.self) { group in
                for sender in 0..<24 {
                    group.addTask {
                        for index in stride(from: sender, to: total, by: 24) {
                            let node = index % 3
                            if node == 2, acknowledged.isServerKilled { continue }
                            let key = "send-\(index)"
                            guard
                                let response = await EndToEndTests.call(
                                    .POST, snapshot.url(node, "/v1/channels/\(channel.id)/messages"), key: snapshot.apiKey, body: #"{"text":"\#(key)"}"#,
                                    headers: [("Idempotency-Key", key)]),
                                response.status == 201, let message = try? WireJSON.decoder().decode(Message.self, from: response.body)
                            else { continue }
                            if acknowledged.record(message, for: key) == 100 {
                                victim.signal(SIGKILL)
                                acknowledged.serverKilled()
                            }
                        }
                    }
                }
            }
            _ = await victim.exitStatus()

            let history = try await Self.history(of: channel.id, cluster: cluster, node: 0)
            #expect(history.map(\.seq) == Array(1...Int64(history.count)), "gap-free")
            let stored = Dictionary(history.map { ($0.text, $0.id.rawValue) }, uniquingKeysWith: { first, _ in first })
            #expect(stored.count == history.count, "no message stored twice")
            for (key, message) in acknowledged.all { #expect(stored[key] == message.id.rawValue, "acknowledged \(key) is stored once, as acknowledged") }
            #expect(acknowledged.all.count >= 100)

            // Ben's socket went with node 2. What it saw, plus a sync on node 1 from its last seq, is everything.
            var seen: [Int64] = []
            while case .frame(.messageCreated(let message))? = await Self.nextEvent(on: ben) { seen.append(message.seq) }
            let resumed = TestSocket(port: cluster.nodes[1].port, auth: .header(try await Self.token(cluster, for: "ben", node: 1)))
            #expect(await resumed.ready())
            let lastSeen = seen.last ?? 0
            #expect(seen == Array(stride(from: 1, through: lastSeen, by: 1)), "in order, no gap, before the kill")
            resumed.send(#"{"type":"sync","channelId":"\#(channel.id)","afterSeq":\#(lastSeen)}"#)
            var synced: [Int64] = []
            while let frame = await Self.nextFrame(on: resumed) {
                if case .messageCreated(let message) = frame { synced.append(message.seq) }
                if case .syncDone = frame { break }
            }
            #expect(seen + synced == history.map(\.seq), "ben missed nothing and got nothing twice")
            await resumed.close()

            // The two survivors share the outbox: each notification's webhook arrives once.
            let hook = await EndToEndTests.call(
                .PUT, cluster.url(0, "/v1/webhooks"), key: cluster.apiKey, body: #"{"url":"\#(receiver.url)","events":["notification.sent"]}"#)
            #expect(hook?.status == 200 || hook?.status == 201)
            let notifications = 20
            for index in 0..<notifications {
                let response = await EndToEndTests.call(
                    .POST, cluster.url(index % 2, "/v1/notifications"), key: cluster.apiKey,
                    body: #"{"recipients":["ana"],"category":"transactional","content":{"title":"n\#(index)","body":"b"}}"#)
                #expect(response?.status == 201 || response?.status == 202)
            }
            var ids: [String] = []
            while ids.count < notifications, let received = await Self.nextDelivery(receiver) { ids.append(received.header("webhook-id") ?? "") }
            #expect(Set(ids).count == notifications && ids.count == notifications, "each webhook once")
        }
        }
    }

    /// The next event, or nil once the socket ended or after `limit`.
    static func nextEvent(on socket: TestSocket, within limit: Duration = .seconds(30)) async -> TestSocket.Event? {
        let box = UncheckedSocket(socket)
        return await within(limit) { await box.socket.nextEvent() }
    }

    static func nextFrame(on socket: TestSocket) async -> ServerFrame? {
        guard case .frame(let frame)? = await nextEvent(on: socket) else { return nil }
        return frame
    }

    @Test("Outbox work is shared by the nodes and done once: every notification's webhook arrives exactly once")
    func outboxOnceAcrossNodes() async throws {
        try await WebhookReceiver.with { receiver in
            try await Self.withCluster(extraArguments: ["--allow-private-targets"]) { cluster in
                let hook = await EndToEndTests.call(
                    .PUT, cluster.url(0, "/v1/webhooks"), key: cluster.apiKey, body: #"{"url":"\#(receiver.url)","events":["notification.sent"]}"#)
                #expect(hook?.status == 200 || hook?.status == 201)
                let total = 30
                for index in 0..<total {
                    let response = await EndToEndTests.call(
                        .POST, cluster.url(index % 3, "/v1/notifications"), key: cluster.apiKey,
                        body: #"{"recipients":["ana","ben"],"category":"transactional","content":{"title":"n\#(index)","body":"b"}}"#)
                    #expect(response?.status == 201 || response?.status == 202)
                }
                var ids: [String] = []
                while ids.count < total, let received = await Self.nextDelivery(receiver) {
                    ids.append(received.header("webhook-id") ?? "")
                }
                #expect(ids.count == total)
                #expect(Set(ids).count == total, "no webhook was delivered twice")
                // Every node logs its own deliveries in the shared log, once the receiver has answered (so the
                // last entries may follow the last request by a moment): each event once.
                var entries: [[String: Any]] = []
                let deadline = ContinuousClock.now + .seconds(30)
                while entries.count < total, ContinuousClock.now < deadline {
                    let log = try #require(await EndToEndTests.call(.GET, cluster.url(1, "/v1/webhooks/deliveries?limit=100"), key: cluster.apiKey))
                    entries = try #require(try JSONSerialization.jsonObject(with: log.body) as? [String: Any])["deliveries"] as? [[String: Any]] ?? []
                    if entries.count < total { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(entries.count == total)
                #expect(Set(entries.compactMap { $0["messageId"] as? String }).count == total)
            }
        }
    }

    static func nextDelivery(_ receiver: WebhookReceiver, within limit: Duration = .seconds(60)) async -> WebhookReceiver.Received? {
        await within(limit) { await receiver.next() }
    }
}

/// `TestSocket` is used by one test task at a time; this lets a timeout race read it.
struct UncheckedSocket: @unchecked Sendable {
    let socket: TestSocket
    init(_ socket: TestSocket) { self.socket = socket }
}
