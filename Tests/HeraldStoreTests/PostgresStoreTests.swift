import Foundation
import HeraldCore
@testable import HeraldStore
import HeraldTestSupport
import Testing

/// What only a shared database has to get right: several nodes (here, several `PostgresStore`s on one
/// database) writing at once. The single-node behaviour is the conformance suite's.
@Suite("PostgreSQL store, several nodes")
struct PostgresStoreTests {
    /// `count` stores on one fresh database, as `count` nodes of a cluster.
    private func withNodes(_ count: Int, _ body: ([PostgresStore]) async throws -> Void) async throws {
        let (url, drop) = try await PostgresTestServer.freshDatabase()
        let key = MasterKey.generate()
        var nodes: [PostgresStore] = []
        do {
            for _ in 0..<count { nodes.append(try await PostgresStore.open(url: url, masterKeys: [key], maximumConnections: 4)) }
            try await body(nodes)
        } catch {
            for node in nodes { try? await node.close() }
            await drop()
            throw error
        }
        for node in nodes { try await node.close() }
        await drop()
    }

    private let ana = UserID(rawValue: "ana")!
    private let ben = UserID(rawValue: "ben")!

    private func appWithUsers(on node: PostgresStore) async throws -> AppID {
        let app = try await node.createApp(name: "Acme").app.id
        for user in [ana, ben] { _ = try await node.putUser(user, profile: UserProfile(name: user.rawValue), in: app) }
        return app
    }

    @Test("Idempotency rows of an earlier version, which held the request, are replaced by keyed hashes when a node starts and still recognise a repeat")
    func legacyIdempotencyRowsAreKeyed() async throws {
        let (url, drop) = try await PostgresTestServer.freshDatabase()
        let masterKey = MasterKey.generate()
        let content = MessageContent(text: "legacy request")
        let key = IdempotencyKey(scope: "http:test", key: ClientMessageID(rawValue: "k1")!, request: content.canonicalBytes(sender: nil), user: nil, requiresSameRequest: true)
        var node = try await PostgresStore.open(url: url, masterKeys: [masterKey], maximumConnections: 4)
        let app = try await node.createApp(name: "Acme").app.id
        let channel = try await node.createChannel(NewChannel(type: .group, members: [], name: "team"), in: app).channel
        let first = try await node.append(AppendRequest(app: app, channel: channel.id, sender: nil, content: content, idempotency: key))
        // As an earlier version left it: the canonical request itself, in the table the migration moved it to.
        try await node.database.execute("CREATE TABLE idempotencyKeyLegacy AS SELECT appID, scope, key, fingerprint, resultID, createdAt FROM idempotencyKey")
        try await node.database.execute("UPDATE idempotencyKeyLegacy SET fingerprint = \(content.canonicalBytes(sender: nil))")
        try await node.database.execute("DELETE FROM idempotencyKey")
        try await node.close()

        node = try await PostgresStore.open(url: url, masterKeys: [masterKey], maximumConnections: 4)
        let replay = try await node.append(AppendRequest(app: app, channel: channel.id, sender: nil, content: content, idempotency: key))
        let stored = try await node.database.value("SELECT fingerprint FROM idempotencyKey", as: Data.self)
        let hasLegacy = try await node.database.value("SELECT to_regclass('idempotencykeylegacy') IS NOT NULL", as: Bool.self)
        try await node.close()
        await drop()

        #expect(replay.isReplay && replay.message.id == first.message.id)
        #expect(stored != nil && stored != content.canonicalBytes(sender: nil))
        #expect(hasLegacy == false)
    }

    @Test("Nodes sending to one channel at once share one gap-free, strictly increasing seq")
    func concurrentSeqsAcrossNodes() async throws {
        try await withNodes(3) { nodes in
            let app = try await appWithUsers(on: nodes[0])
            let channel = try await nodes[0].createChannel(NewChannel(type: .group, members: [ana, ben], name: "team"), in: app).channel
            let seqs = try await withThrowingTaskGroup(of: Int64.self) { group in
                for index in 0..<90 {
                    group.addTask {
                        let request = AppendRequest(app: app, channel: channel.id, sender: index.isMultiple(of: 2) ? self.ana : self.ben, content: MessageContent(text: "m\(index)"))
                        return try await nodes[index % 3].append(request).message.seq
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(seqs.sorted() == Array(1...90))
            let history = try await nodes[1].history(of: channel.id, in: app, query: HistoryQuery(after: 0, limit: 100))
            #expect(history.messages.map(\.seq) == Array(1...90))
            #expect(Set(history.messages.map(\.text)).count == 90)
            #expect(try await nodes[2].channel(channel.id, in: app)?.lastSeq == 90)
        }
    }

    @Test("One idempotency key sent through several nodes at once stores one message")
    func idempotencyAcrossNodes() async throws {
        try await withNodes(3) { nodes in
            let app = try await appWithUsers(on: nodes[0])
            let channel = try await nodes[0].createChannel(NewChannel(type: .group, members: [ana, ben], name: "team"), in: app).channel
            let content = MessageContent(text: "pay")
            let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
                for index in 0..<30 {
                    group.addTask {
                        let key = IdempotencyKey(
                            scope: "test", key: ClientMessageID(rawValue: "k\(index % 5)")!, request: content.canonicalBytes(sender: self.ana), user: self.ana, requiresSameRequest: true)
                        return try await nodes[index % 3].append(AppendRequest(app: app, channel: channel.id, sender: self.ana, content: content, idempotency: key))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(results.map(\.message.id)).count == 5, "one message per key")
            #expect(results.filter { !$0.isReplay }.count == 5, "each key stored once; every other send is a replay")
            let history = try await nodes[2].history(of: channel.id, in: app, query: HistoryQuery(after: 0, limit: 100))
            #expect(history.messages.map(\.seq) == Array(1...5))
        }
    }

    @Test("A direct channel created through several nodes at once is one channel")
    func directChannelAcrossNodes() async throws {
        try await withNodes(3) { nodes in
            let app = try await appWithUsers(on: nodes[0])
            let created = try await withThrowingTaskGroup(of: (ChannelID, Bool).self) { group in
                for index in 0..<12 {
                    group.addTask {
                        let members = index.isMultiple(of: 2) ? [self.ana, self.ben] : [self.ben, self.ana]
                        let result = try await nodes[index % 3].createChannel(NewChannel(type: .direct, members: members), in: app)
                        return (result.channel.id, result.created)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(created.map(\.0)).count == 1)
            #expect(created.filter(\.1).count == 1, "exactly one creation says it created")
        }
    }

    @Test("Keys are shared: what one node seals, another opens; a wrong master key is refused")
    func sharedKeys() async throws {
        let (url, drop) = try await PostgresTestServer.freshDatabase()
        let key = MasterKey.generate()
        let first = try await PostgresStore.open(url: url, masterKeys: [key])
        let second = try await PostgresStore.open(url: url, masterKeys: [key])
        do {
            let app = try await first.createApp(name: "Acme").app.id
            _ = try await first.putUser(ana, profile: UserProfile(name: "Ana", metadata: ["tier": .string("gold")]), in: app)
            _ = try await first.putUser(ben, profile: UserProfile(name: "Ben"), in: app)
            #expect(try await second.user(ana, in: app)?.name == "Ana")
            #expect(try await second.recipients(in: Segment(metadata: ["tier": .string("gold")]), app: app).map(\.id) == [ana])
            let channel = try await second.createChannel(NewChannel(type: .direct, members: [ana, ben]), in: app).channel
            let sent = try await first.append(AppendRequest(app: app, channel: channel.id, sender: ana, content: MessageContent(text: "secret")))
            #expect(try await second.message(sent.message.id, in: channel.id, app: app)?.text == "secret")
            await #expect(throws: KeyRing.Failure.self) { _ = try await PostgresStore.open(url: url, masterKeys: [MasterKey.generate()]) }
        } catch {
            Issue.record(error)
        }
        try await first.close()
        try await second.close()
        await drop()
    }

    @Test("A master key rotation re-wraps every key: the new key opens the same content and the audit chain, the old one is refused")
    func masterKeyRotation() async throws {
        let (url, drop) = try await PostgresTestServer.freshDatabase()
        let old = MasterKey.generate()
        let new = MasterKey.generate()
        do {
            let store = try await PostgresStore.open(url: url, masterKeys: [old])
            let app = try await appWithUsers(on: store)
            let channel = try await store.createChannel(NewChannel(type: .direct, members: [ana, ben]), in: app).channel
            let sent = try await store.append(AppendRequest(app: app, channel: channel.id, sender: ana, content: MessageContent(text: "before the rotation")))
            try await store.recordAudit(NewAuditEvent(chain: .app(app), actor: "test", action: "a", target: "t"))
            let counts = try await store.keys.rewrap(to: new)
            try await store.close()
            #expect(counts.apps == 1 && counts.dataKeys == 3, "the app's key and ana's and ben's")

            await #expect(throws: KeyRing.Failure.self) { _ = try await PostgresStore.open(url: url, masterKeys: [old]) }
            let rotated = try await PostgresStore.open(url: url, masterKeys: [new])
            #expect(try await rotated.message(sent.message.id, in: channel.id, app: app)?.text == "before the rotation")
            #expect(try await rotated.user(ana, in: app)?.name == "ana")
            #expect(try await rotated.verifyAudit().checked == 1)
            try await rotated.close()
        } catch {
            Issue.record(error)
        }
        await drop()
    }

    @Test("A key row whose app id does not decode stops a rotation before anything changes: the old master key still opens everything")
    func rotationStopsAtAnUnreadableApp() async throws {
        let (url, drop) = try await PostgresTestServer.freshDatabase()
        let old = MasterKey.generate()
        do {
            let store = try await PostgresStore.open(url: url, masterKeys: [old])
            let app = try await appWithUsers(on: store)
            let keysDatabase = PostgresDatabase(url.with(database: url.database + "_keys"), maximumConnections: 1)
            try await keysDatabase.execute("INSERT INTO appKey (appID, wrapped, createdAt) VALUES ('not an app id!', '\\x00'::bytea, 0)")
            await keysDatabase.close()

            await #expect(throws: (any Error).self) { _ = try await store.keys.rewrap(to: MasterKey.generate()) }
            try await store.close()
            let reopened = try await PostgresStore.open(url: url, masterKeys: [old])
            #expect(try await reopened.user(ana, in: app)?.name == "ana")
            try await reopened.close()
        } catch {
            Issue.record(error)
        }
        await drop()
    }

    @Test("Database URLs: credentials, defaults, TLS modes, and errors that never repeat the password")
    func urls() throws {
        let url = try PostgresURL("postgres://herald:s%40cret@db.example:6432/herald?sslmode=require")
        #expect(url.host == "db.example")
        #expect(url.port == 6432)
        #expect(url.username == "herald")
        #expect(url.password == "s@cret")
        #expect(url.database == "herald")
        #expect(url.tls == .require)
        #expect(!url.description.contains("cret"))
        #expect(try PostgresURL("postgresql://u@h/d").port == 5432)
        #expect(try PostgresURL("postgresql://u@h/d?sslmode=prefer").tls == .prefer)
        for bad in ["mysql://u@h/d", "postgres://h/d", "postgres://u@h", "postgres://u@h/d?sslmode=maybe", "not a url"] {
            #expect(throws: PostgresURL.Invalid.self, "\(bad)") { try PostgresURL(bad) }
        }
        do {
            _ = try PostgresURL("postgres://u:topsecret@h/d?sslmode=bogus")
        } catch {
            #expect(!"\(error)".contains("topsecret"))
        }
    }
}
