import Foundation
import HeraldCore
import HeraldStore
import HeraldTestSupport
import NIOHTTP1
import Testing

/// `herald store copy`: an embedded store, populated through the real server, copied into PostgreSQL
/// and served from there.
@Suite("herald store copy", .serialized)
struct StoreCopyTests {
    @Test("A populated embedded store copied into PostgreSQL serves the same histories, inbox and keys, and goes on from there")
    func copyRoundTrip() async throws {
        let data = try EndToEndTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let app = try EndToEndTests.createApp(data: data)
        let embedded = try await HeraldProcess.start(data: data)
        let base = embedded.baseURL
        for name in ["ana", "ben"] { await EndToEndTests.call(.PUT, "\(base)/v1/users/\(name)", key: app.apiKey, body: #"{"name":"\#(name)"}"#) }
        let created = try #require(await EndToEndTests.call(.POST, "\(base)/v1/channels", key: app.apiKey, body: #"{"type":"group","members":["ana","ben"]}"#))
        let channel = try WireJSON.decoder().decode(HeraldCore.Channel.self, from: created.body)
        var sent: [Message] = []
        for index in 0..<120 {
            let response = try #require(
                await EndToEndTests.call(.POST, "\(base)/v1/channels/\(channel.id)/messages", key: app.apiKey, body: #"{"text":"m\#(index)"}"#))
            sent.append(try WireJSON.decoder().decode(Message.self, from: response.body))
        }
        await EndToEndTests.call(.DELETE, "\(base)/v1/channels/\(channel.id)/messages/\(sent[3].id)", key: app.apiKey)
        let notified = await EndToEndTests.call(
            .POST, "\(base)/v1/notifications", key: app.apiKey,
            body: #"{"recipients":["ana"],"category":"transactional","content":{"title":"Payment due","body":"120 EUR"}}"#)
        #expect(notified?.status == 201 || notified?.status == 202)
        let before = try await ClusterTests.history(of: channel.id, baseURL: base, key: app.apiKey)
        let issued = try #require(await EndToEndTests.call(.POST, "\(base)/v1/users/ana/tokens", key: app.apiKey))
        let token = try #require(try JSONSerialization.jsonObject(with: issued.body) as? [String: Any])["token"] as! String
        let inboxBefore = try #require(await EndToEndTests.call(.GET, "\(base)/v1/me/inbox", key: token))
        #expect(await embedded.stop(with: SIGTERM) == 0)

        let (url, drop) = try await PostgresTestServer.freshDatabase()
        defer { Task { await drop() } }
        let database = "postgres://\(url.username)@\(url.host):\(url.port)/\(url.database)"
        let (status, output) = try HeraldProcess.command(["store", "copy", "--from", data.path, "--to", database, "--json"])
        #expect(status == 0)
        let report = try JSONDecoder().decode(StoreCopy.Report.self, from: Data(output.utf8))
        #expect(report.tables["message"] == 120)
        #expect(report.tables["user"] == 2)
        #expect((report.keys["dataKey"] ?? 0) >= 3, "the app's key and each user's")
        let again = try HeraldProcess.command(["store", "copy", "--from", data.path, "--to", database])
        #expect(again.status != 0, "a second copy into the same database is refused")

        let masterKey = try String(contentsOf: data.appendingPathComponent("master.key"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let node = try await HeraldProcess.start(database: database, masterKey: masterKey)
        let after = try await ClusterTests.history(of: channel.id, baseURL: node.baseURL, key: app.apiKey)
        #expect(after == before, "the same messages, seqs, texts and tombstone, opened with the copied keys")
        #expect(after.count == 120 && after[3].deleted)
        // The token issued before the move still works: the token keys moved too.
        let inboxAfter = try #require(await EndToEndTests.call(.GET, "\(node.baseURL)/v1/me/inbox", key: token))
        #expect(inboxAfter.status == 200)
        let itemsBefore = try #require(try JSONSerialization.jsonObject(with: inboxBefore.body) as? NSDictionary)
        #expect((itemsBefore["items"] as? [Any])?.count == 1)
        #expect(try JSONSerialization.jsonObject(with: inboxAfter.body) as? NSDictionary == itemsBefore, "the same item, opened and verified alike")
        let next = try #require(
            await EndToEndTests.call(.POST, "\(node.baseURL)/v1/channels/\(channel.id)/messages", key: app.apiKey, body: #"{"text":"after the move"}"#))
        #expect(try WireJSON.decoder().decode(Message.self, from: next.body).seq == 121, "seqs go on where they were")
        let verified = try HeraldProcess.command(["audit", "verify", "--database", database], environment: ["HERALD_MASTER_KEY": masterKey])
        #expect(verified.status == 0, "the copied audit chain verifies, with the copy recorded on it")
        #expect(await node.stop(with: SIGTERM) == 0)
    }
}
