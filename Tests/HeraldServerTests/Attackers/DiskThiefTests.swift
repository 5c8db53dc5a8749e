import Foundation
import HTTPTypes
import HeraldCore
import HeraldStore
import HeraldTestSupport
import Testing

/// The thief of a disk, a database file or a backup: whatever they copy, they read no content and no
/// personal data (threat model, first row). Each test writes markers through every path that stores
/// something, then reads the store's files byte by byte: SQLite's database, WAL and free pages, or
/// PostgreSQL's table files and WAL.
@Suite("Attacker: the thief of a disk or a backup", .serialized)
struct DiskThiefTests {
    @Test("No write path leaves content in clear at rest: sends with and without keys, business messages, notifications, actions, webhooks, pushes, previews, exports")
    func noWritePathLeavesContentInClear() async throws {
        try await TestHarness.with { harness in
            let started = Date()
            let ana = UUID().uuidString, business = UUID().uuidString  // what is about ana, and what only the business says
            // Template keys are identifiers, kept in clear on purpose: finding this one proves the files are read.
            let templateKey = "alert-" + UUID().uuidString.prefix(8).lowercased()
            let channel = try await harness.group(["ana", "ben"])
            let anaToken = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                // Over the socket: every send carries a clientMessageId, which is an idempotency key.
                let socket = try #require(try await client.readySocket(as: "ana", harness: harness))
                socket.send(message: "ws \(ana)", to: channel.id, clientMessageID: "c-1")
                #expect(await socket.next("ack") != nil)
                await socket.close()
                // Over HTTP, with and without Idempotency-Key, as the customer and as the business.
                for (auth, text, key) in [(anaToken, "http \(ana)", "k-1"), (anaToken, "plain \(ana)", nil), (harness.apiKey, "biz \(business)", "k-2")] {
                    var headers: HTTPFields = [:]
                    if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
                    let sent = try await client.request(
                        .post, "/v1/channels/\(channel.id)/messages", auth: auth, body: #"{"text":"\#(text)","data":{"ref":"\#(text)"}}"#, headers: headers)
                    #expect(sent.status == .created, "\(sent.text)")
                }
                // A group named after its subject, as a bank names a dispute.
                let named = try await client.request(
                    .post, "/v1/channels", auth: harness.apiKey, body: #"{"type":"group","members":["ana","ben"],"name":"Dispute \#(ana)"}"#)
                #expect(named.status == .created)
                #expect(try await client.request(.get, "/v1/me/channels", auth: anaToken).text.contains("Dispute \(ana)"), "the name reads back")
                let hook = try await client.request(.put, "/v1/webhooks", auth: harness.apiKey, body: #"{"url":"https://hooks.acme.example/x","events":["action.performed"]}"#)
                #expect(hook.status == .ok || hook.status == .created)
                let template = try await client.request(
                    .put, "/v1/templates/\(templateKey)", auth: harness.apiKey,
                    body: #"{"category":"security","title":"Paid {{amount}}?","body":"At {{merchant}}","actions":[{"id":"why","label":"Tell us","input":{"type":"text"}}]}"#)
                #expect(template.status == .ok || template.status == .created, "\(template.text)")
                for body in [
                    #"{"recipients":["ana"],"template":"\#(templateKey)","variables":{"amount":"€12","merchant":"\#(ana)"}}"#,
                    #"{"recipients":["ana"],"category":"transactional","content":{"title":"T \#(ana)","body":"B \#(ana)"},"data":{"ref":"\#(ana)"}}"#,
                ] {
                    let sent = try await client.request(.post, "/v1/notifications", auth: harness.apiKey, body: body, headers: [HTTPField.Name("Idempotency-Key")!: UUID().uuidString])
                    #expect(sent.status == .created, "\(sent.text)")
                }
                let item = try #require(try await client.inbox(anaToken).items.first { $0.actions?.first?.id == "why" })
                let acted = try await client.request(.post, "/v1/me/inbox/\(item.id)/actions/why", auth: anaToken, body: #"{"input":{"value":"answer \#(ana)"}}"#)
                #expect(acted.status == .ok, "\(acted.text)")
                let preview = try await client.request(.post, "/v1/templates/\(templateKey)/preview", auth: harness.apiKey, body: #"{"variables":{"amount":"1","merchant":"\#(business)"}}"#)
                #expect(preview.text.contains(business), "the preview rendered the marker")
                let export = try await client.request(.get, "/v1/users/ana/export", auth: harness.apiKey)
                #expect(export.text.contains(ana), "the export holds ana's markers: they were stored and read back")
            }

            #expect(try harness.filesHolding(templateKey, since: started) != [], "the reader sees what is stored in clear")
            #expect(try harness.filesHolding(ana, since: started) == [], "the customer's content is in clear")
            #expect(try harness.filesHolding(business, since: started) == [], "the business's content is in clear")

            // Erased, what was theirs is gone from the rows too; nothing of it surfaces in clear in free pages.
            #expect(try await harness.store.eraseUser(harness.user("ana"), in: harness.app))
            #expect(try harness.filesHolding(ana, since: started) == [], "after erasure, the customer's content is in clear")
        }
    }

    @Test("After erasure the customer's idempotency records are gone, and the database keeps no keyed hash of what they sent")
    func erasureRemovesIdempotencyRecords() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            let request = AppendRequest(
                app: harness.app, channel: channel.id, sender: harness.user("ana"), content: MessageContent(text: "hello"),
                idempotency: IdempotencyKey(scope: "ws:ana:\(channel.id)", key: ClientMessageID(rawValue: "c-1")!, request: Data("hello".utf8), user: harness.user("ana"), requiresSameRequest: false))
            let first = try await harness.store.append(request)
            #expect(try await harness.store.append(request).isReplay, "the key is recorded")

            _ = try await harness.store.eraseUser(harness.user("ana"), in: harness.app)
            _ = try await harness.store.putUser(harness.user("ana"), profile: UserProfile(name: "Ana"), in: harness.app)
            _ = try await harness.store.addMembers([harness.user("ana")], to: channel.id, in: harness.app)
            let again = try await harness.store.append(request)

            #expect(!again.isReplay && again.message.id != first.message.id, "the erased customer's key was forgotten with them")
        }
    }
}
