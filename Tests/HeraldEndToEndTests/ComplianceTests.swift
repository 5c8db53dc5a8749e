import AsyncHTTPClient
import Foundation
import HeraldCore
import HeraldTestSupport
import Testing

/// Encryption at rest, the audit trail and key rotation, on the real binary and its real files.
@Suite("Compliance on the real binary", .serialized)
struct ComplianceTests {
    /// Every file of the data directory, read now.
    private static func files(in directory: URL) throws -> [(name: String, bytes: Data)] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted().map { name in
            (name, try Data(contentsOf: directory.appendingPathComponent(name)))
        }
    }

    @Test("A marker sent over the socket, in idempotent sends, messages, notifications with variables, channel names and user metadata is in no file of the data dir, while the server runs and after it stops")
    func markerNeverReachesDisk() async throws {
        let data = try EndToEndTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let marker = "MARKER-\(UUID().uuidString)"
        let app = try EndToEndTests.createApp(data: data)
        let server = try await HeraldProcess.start(data: data)
        let base = server.baseURL
        await EndToEndTests.call(.PUT, "\(base)/v1/users/ana", key: app.apiKey, body: #"{"name":"Ana \#(marker)","metadata":{"note":"\#(marker)"}}"#)
        await EndToEndTests.call(.PUT, "\(base)/v1/users/ben", key: app.apiKey, body: "{}")
        let created = try #require(await EndToEndTests.call(.POST, "\(base)/v1/channels", key: app.apiKey, body: #"{"type":"direct","members":["ana","ben"]}"#))
        let channel = try WireJSON.decoder().decode(Channel.self, from: created.body)
        let group = await EndToEndTests.call(.POST, "\(base)/v1/channels", key: app.apiKey, body: #"{"type":"group","members":["ana","ben"],"name":"Case \#(marker)"}"#)
        #expect(group?.status == 201)
        for (index, sender) in [#","sender":"ana""#, ""].enumerated() {
            let sent = await EndToEndTests.call(
                .POST, "\(base)/v1/channels/\(channel.id)/messages", key: app.apiKey, body: #"{"text":"pay \#(marker)","data":{"ref":"\#(marker)"}\#(sender)}"#,
                headers: [("Idempotency-Key", "marker-\(index)")])
            #expect(sent?.status == 201)
        }
        // Over the socket, where every send carries a clientMessageId (an idempotency key).
        let issued = try #require(await EndToEndTests.call(.POST, "\(base)/v1/users/ana/tokens", key: app.apiKey))
        let token = try #require(try JSONSerialization.jsonObject(with: issued.body) as? [String: Any])["token"] as? String
        let socket = TestSocket(port: server.port, auth: .header(try #require(token)))
        #expect(await socket.ready())
        socket.send(message: "ws \(marker)", to: channel.id, clientMessageID: "ws-marker")
        #expect(await socket.next("ack") != nil)
        await socket.close()
        await EndToEndTests.call(
            .PUT, "\(base)/v1/templates/alert", key: app.apiKey, body: #"{"category":"transactional","title":"Paid at {{merchant}}","body":"Check it"}"#)
        let templated = await EndToEndTests.call(
            .POST, "\(base)/v1/notifications", key: app.apiKey, body: #"{"recipients":["ana"],"template":"alert","variables":{"merchant":"\#(marker)"}}"#,
            headers: [("Idempotency-Key", "marker-notification")])
        #expect(templated?.status == 201)
        let notified = await EndToEndTests.call(
            .POST, "\(base)/v1/notifications", key: app.apiKey,
            body: #"{"recipients":["ana"],"category":"transactional","content":{"title":"Hi \#(marker)","body":"Body \#(marker)"},"data":{"ref":"\#(marker)"}}"#)
        #expect(notified?.status == 201)
        // The content was stored and reads back: the test would see it if it reached the disk in clear.
        let history = try #require(await EndToEndTests.call(.GET, "\(base)/v1/channels/\(channel.id)/messages?after=0", key: app.apiKey))
        let user = try #require(await EndToEndTests.call(.GET, "\(base)/v1/users/ana", key: app.apiKey))
        #expect(String(decoding: history.body, as: UTF8.self).contains(marker) && String(decoding: user.body, as: UTF8.self).contains(marker))

        let whileRunning = try Self.files(in: data)
        #expect(await server.stop(with: SIGTERM) == 0)
        let afterStop = try Self.files(in: data)

        #expect(whileRunning.contains { $0.name == "herald.sqlite-wal" }, "the WAL was there to be checked")
        for (name, bytes) in whileRunning + afterStop {
            #expect(bytes.range(of: Data(marker.utf8)) == nil, "the marker is in \(name)")
        }
    }

    @Test("herald audit verify passes an untouched log and names the entry edited, deleted or moved with the sqlite3 tool", arguments: ["edit", "delete", "reorder"])
    func auditVerifyWithSQLite3(_ tampering: String) async throws {
        let data = try EndToEndTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let app = try EndToEndTests.createApp(data: data)
        let server = try await HeraldProcess.start(data: data)
        for name in ["ana", "ben", "cat", "dan"] { await EndToEndTests.call(.PUT, "\(server.baseURL)/v1/users/\(name)", key: app.apiKey, body: "{}") }
        #expect(await server.stop(with: SIGTERM) == 0)

        let (intact, report) = try HeraldProcess.command(["audit", "verify", "--data", data.path, "--json"])
        #expect(intact == 0 && report.contains(#""ok":true"#), "\(report)")

        // The app's chain: seq 1 is app.create (CLI), 2…5 the four PUTs.
        let statements = switch tampering {
        case "edit": "UPDATE auditEvent SET target = '/v1/users/nobody' WHERE chain = '\(app.appId)' AND seq = 3;"
        case "delete": "DELETE FROM auditEvent WHERE chain = '\(app.appId)' AND seq = 3;"
        default:
            """
            CREATE TEMP TABLE swap AS SELECT
              (SELECT id FROM auditEvent WHERE chain = '\(app.appId)' AND seq = 2) AS a, (SELECT id FROM auditEvent WHERE chain = '\(app.appId)' AND seq = 3) AS b;
            UPDATE auditEvent SET id = -1 WHERE id = (SELECT a FROM swap);
            UPDATE auditEvent SET id = (SELECT a FROM swap) WHERE id = (SELECT b FROM swap);
            UPDATE auditEvent SET id = (SELECT b FROM swap) WHERE id = -1;
            """
        }
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        sqlite.arguments = [data.appendingPathComponent("herald.sqlite").path, statements]
        try sqlite.run()
        sqlite.waitUntilExit()
        #expect(sqlite.terminationStatus == 0)

        let (status, output) = try HeraldProcess.command(["audit", "verify", "--data", data.path, "--json"])
        let problem = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
        #expect(status == 1 && problem["ok"] as? Bool == false)
        #expect(problem["chain"] as? String == app.appId)
        // The first bad entry: the edited one; after a deletion, the one that follows the gap; after a
        // swap, the entry that now comes first out of its place.
        #expect(problem["seq"] as? Int == (tampering == "delete" ? 4 : 3), "\(output)")
    }

    @Test("herald keys rotate re-wraps every key: the old master key stops opening the store, the content reads the same, the audit trail verifies")
    func keyRotation() async throws {
        let data = try EndToEndTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let app = try EndToEndTests.createApp(data: data)
        var server = try await HeraldProcess.start(data: data)
        await EndToEndTests.call(.PUT, "\(server.baseURL)/v1/users/ana", key: app.apiKey, body: #"{"name":"Ana","metadata":{"tier":"gold"}}"#)
        let (busy, _) = try HeraldProcess.command(["keys", "rotate", "--data", data.path])
        #expect(busy != 0, "rotation refuses a directory in use")
        #expect(await server.stop(with: SIGTERM) == 0)
        let oldKey = try String(contentsOf: data.appendingPathComponent("master.key"), encoding: .utf8)

        let (status, output) = try HeraldProcess.command(["keys", "rotate", "--data", data.path, "--json"])

        #expect(status == 0 && output.contains(#""apps":1"#), "\(output)")
        let newKey = try String(contentsOf: data.appendingPathComponent("master.key"), encoding: .utf8)
        #expect(newKey != oldKey && !FileManager.default.fileExists(atPath: data.appendingPathComponent("master.key.next").path))
        server = try await HeraldProcess.start(data: data)
        let user = try #require(await EndToEndTests.call(.GET, "\(server.baseURL)/v1/users/ana", key: app.apiKey))
        #expect(await server.stop(with: SIGTERM) == 0)
        #expect(user.status == 200 && String(decoding: user.body, as: UTF8.self).contains("gold"))
        let (verified, report) = try HeraldProcess.command(["audit", "verify", "--data", data.path, "--json"])
        #expect(verified == 0, "\(report)")
        try oldKey.write(to: data.appendingPathComponent("master.key"), atomically: true, encoding: .utf8)
        let (withOldKey, _) = try HeraldProcess.command(["apps", "list", "--data", data.path])
        #expect(withOldKey != 0, "the old master key no longer opens the key store")
    }
}
