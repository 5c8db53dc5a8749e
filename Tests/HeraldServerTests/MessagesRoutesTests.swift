import Foundation
import HTTPTypes
import HeraldCore
import HeraldServer
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Messages over HTTP")
struct MessagesRoutesTests {
    @Test("The platform sends as the business (no sender) or as a member; the response is the stored message")
    func platformSends() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            try await harness.run { client in
                let path = "/v1/channels/\(channel.id)/messages"

                let business = try await client.request(.post, path, auth: harness.apiKey, body: #"{"text":"Your card was used","data":{"amount":12.5}}"#)
                let asAna = try await client.request(.post, path, auth: harness.apiKey, body: #"{"text":"hi","sender":"ana"}"#)

                #expect(business.status == .created && asAna.status == .created)
                let first = try business.decode(Message.self)
                #expect(first.sender == nil && first.seq == 1 && first.data == ["amount": .number(12.5)])
                #expect(try asAna.decode(Message.self).sender == harness.user("ana"))
                let page = try await client.request(.get, path, auth: harness.apiKey).decode(MessagePage.self)
                #expect(page.messages.map(\.seq) == [1, 2] && !page.hasMore)
            }
        }
    }

    @Test("The same Idempotency-Key and body returns the first message; another body is 409")
    func idempotencyKeyHeader() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            let token = try await harness.token(for: "ana")
            try await harness.run { client in
                let path = "/v1/channels/\(channel.id)/messages"
                let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "order-42"]

                let first = try await client.request(.post, path, auth: token, body: #"{"text":"pay"}"#, headers: key)
                let repeated = try await client.request(.post, path, auth: token, body: #"{"text":"pay"}"#, headers: key)
                let conflicting = try await client.request(.post, path, auth: token, body: #"{"text":"pay more"}"#, headers: key)
                let otherCaller = try await client.request(.post, path, auth: harness.apiKey, body: #"{"text":"pay"}"#, headers: key)

                #expect(first.status == .created && repeated.status == .ok && conflicting.status == .conflict)
                #expect(try repeated.decode(Message.self) == first.decode(Message.self))
                #expect(otherCaller.status == .created, "keys are scoped to the caller")
                let page = try await client.request(.get, path, auth: token).decode(MessagePage.self)
                #expect(page.messages.count == 2)
            }
        }
    }

    @Test("A member edits and deletes their own message; the tombstone keeps its seq")
    func editAndDelete() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            let message = try await harness.post("helo", to: channel, from: "ana")
            let token = try await harness.token(for: "ana")
            try await harness.run { client in
                let path = "/v1/channels/\(channel.id)/messages/\(message.id)"

                let edited = try await client.request(.patch, path, auth: token, body: #"{"text":"hello"}"#).decode(Message.self)
                let deleted = try await client.request(.delete, path, auth: token).decode(Message.self)
                let fetched = try await client.request(.get, path, auth: token).decode(Message.self)
                let editAfterDelete = try await client.request(.patch, path, auth: token, body: #"{"text":"again"}"#)

                #expect(edited.text == "hello" && edited.editedAt != nil && edited.seq == 1)
                #expect(deleted.deleted && deleted.seq == 1 && deleted.text.isEmpty)
                #expect(fetched == deleted)
                #expect(editAfterDelete.status == .conflict)
            }
        }
    }

    @Test("A page of history with bad parameters is still 404 for another tenant's channel and 403 for a non-member")
    func historyErrorOrder() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            _ = try await harness.post("hello", to: channel, from: "ana")
            let outsider = try await harness.token(for: "cat")
            try await harness.run { client in
                let path = "/v1/channels/\(channel.id)/messages"
                var statuses: [HTTPResponse.Status] = []
                for (query, auth) in [("?limit=500", outsider), ("?after=-1", harness.otherKey), ("?limit=500", harness.apiKey), ("?limit=5", outsider), ("?limit=5", harness.otherKey)] {
                    statuses.append(try await client.request(.get, path + query, auth: auth).status)
                }
                #expect(statuses == [.forbidden, .notFound, .unprocessableContent, .forbidden, .notFound])
            }
        }
    }
}

@Suite("Users, tokens and channels over HTTP")
struct ChannelsRoutesTests {
    @Test("PUT creates a user (201) then replaces it (200)")
    func putUser() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let created = try await client.request(.put, "/v1/users/eve", auth: harness.apiKey, body: #"{"name":"Eve","timezone":"Asia/Seoul"}"#)
                let replaced = try await client.request(.put, "/v1/users/eve", auth: harness.apiKey, body: #"{"name":"Eve K."}"#)
                let fetched = try await client.request(.get, "/v1/users/eve", auth: harness.apiKey).decode(User.self)

                #expect(created.status == .created && replaced.status == .ok)
                #expect(fetched.name == "Eve K." && fetched.timezone == nil)
            }
        }
    }

    @Test("Tokens last an hour by default, or ttlSeconds, and act as their user")
    func tokens() async throws {
        struct Issued: Decodable {
            var token: String
            var expiresAt: Date
        }
        try await TestHarness.with { harness in
            try await harness.run { client in
                let start = Date()
                let standard = try await client.request(.post, "/v1/users/ana/tokens", auth: harness.apiKey).decode(Issued.self)
                let long = try await client.request(.post, "/v1/users/ana/tokens", auth: harness.apiKey, body: #"{"ttlSeconds":86400}"#).decode(Issued.self)
                let missing = try await client.request(.post, "/v1/users/nobody/tokens", auth: harness.apiKey)
                let me = try await client.request(.get, "/v1/me/channels", auth: standard.token)

                #expect(abs(standard.expiresAt.timeIntervalSince(start) - 3600) < 60)
                #expect(abs(long.expiresAt.timeIntervalSince(start) - 86400) < 60)
                #expect(missing.status == .notFound)
                #expect(me.status == .ok)
            }
        }
    }

    @Test("Creating the same direct channel twice returns the existing one")
    func directChannel() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let first = try await client.request(.post, "/v1/channels", auth: harness.apiKey, body: #"{"type":"direct","members":["ana","ben"]}"#)
                let again = try await client.request(.post, "/v1/channels", auth: harness.apiKey, body: #"{"type":"direct","members":["ben","ana"]}"#)

                #expect(first.status == .created && again.status == .ok)
                #expect(try first.decode(Channel.self).id == again.decode(Channel.self).id)
            }
        }
    }

    @Test("My channels show unread counts and the last message; reading over HTTP clears them")
    func myChannels() async throws {
        struct List: Decodable {
            var channels: [ChannelSummary]
        }
        try await TestHarness.with { harness in
            let quiet = try await harness.group(["ben", "cat"], name: "quiet")
            let busy = try await harness.group(["ana", "ben"], name: "busy")
            for text in ["a", "b", "c"] { try await harness.post(text, to: busy, from: "ana") }
            let token = try await harness.token(for: "ben")
            try await harness.run { client in
                let before = try await client.request(.get, "/v1/me/channels", auth: token).decode(List.self).channels
                let read = try await client.request(.post, "/v1/channels/\(busy.id)/read", auth: token, body: #"{"seq":3}"#)
                let after = try await client.request(.get, "/v1/me/channels", auth: token).decode(List.self).channels

                #expect(before.map(\.channel.id) == [busy.id, quiet.id], "most recently active first")
                #expect(before.map(\.unreadCount) == [3, 0])
                #expect(before.first?.lastMessage?.text == "c")
                #expect(read.status == .ok)
                #expect(after.first?.unreadCount == 0)
            }
        }
    }

    @Test("Members are added to and removed from a group")
    func members() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            try await harness.run { client in
                let added = try await client.request(.post, "/v1/channels/\(channel.id)/members", auth: harness.apiKey, body: #"{"members":["cat","dan"]}"#)
                let removed = try await client.request(.delete, "/v1/channels/\(channel.id)/members/ana", auth: harness.apiKey)
                let unknown = try await client.request(.post, "/v1/channels/\(channel.id)/members", auth: harness.apiKey, body: #"{"members":["zed"]}"#)

                #expect(try added.decode(Channel.self).members.map(\.rawValue) == ["ana", "ben", "cat", "dan"])
                #expect(try removed.decode(Channel.self).members.map(\.rawValue) == ["ben", "cat", "dan"])
                #expect(unknown.status == .unprocessableContent && unknown.problem?.errors?.first?.reason == .unknownUser)
            }
        }
    }

    @Test("Every response carries a request id, and a client's own id is kept")
    func requestIDs() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let generated = try await client.request(.get, "/health")
                let given = try await client.request(.get, "/v1/nowhere", headers: [HTTPField.Name("X-Request-Id")!: "trace-123"])

                #expect(generated.headers[HTTPField.Name("X-Request-Id")!]?.isEmpty == false)
                #expect(given.headers[HTTPField.Name("X-Request-Id")!] == "trace-123")
            }
        }
    }
}

@Suite("Export")
struct ExportTests {
    @Test("The export holds the user's profile, channels, own messages, every inbox item and devices, and nothing of other users")
    func exportsEverythingAboutTheUser() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            try await harness.post("from ana", to: channel, from: "ana")
            try await harness.post("from ben", to: channel, from: "ben")
            _ = try await harness.seedInboxItem(for: "ana", title: "Ana's alert")
            _ = try await harness.seedInboxItem(for: "ben", title: "Ben's alert")
            _ = try await harness.store.registerDevice(NewDevice(platform: .fcm, token: "ana-phone"), for: harness.user("ana"), in: harness.app)
            try await harness.run { client in
                let response = try await client.request(.get, "/v1/users/ana/export", auth: harness.apiKey)
                let missing = try await client.request(.get, "/v1/users/nobody/export", auth: harness.apiKey)
                let foreign = try await client.request(.get, "/v1/users/ana/export", auth: harness.otherKey)

                #expect(response.status == .ok)
                #expect(response.headers[.contentDisposition]?.contains("herald-export-ana.json") == true)
                let export = try response.decode(UserExport.self)
                #expect(export.user.id == harness.user("ana"))
                #expect(export.channels.map(\.channel.id) == [channel.id])
                #expect(export.messages.map(\.text) == ["from ana"])
                #expect(export.inbox.map(\.title) == ["Ana's alert"])
                #expect(export.devices.map(\.token) == ["ana-phone"])
                #expect(!response.text.contains("from ben") && !response.text.contains("Ben's alert"))
                #expect(missing.status == .notFound && foreign.status == .notFound)
            }
        }
    }
}
