import Foundation
import HeraldCore
@testable import HeraldServer
import HeraldStore
import Hummingbird
import HummingbirdTesting
import HeraldTestSupport
import Testing

@Suite("Realtime gateway over real WebSockets")
struct RealtimeGatewayTests {
    @Test("A token in the Authorization header authenticates the socket, counted in /metrics")
    func headerAuth() async throws {
        try await TestHarness.with { harness in
            let token = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                let before = try await client.request(.get, "/metrics").text
                let socket = TestSocket(port: client.port, auth: .header(token))

                let ready = await socket.next("ready")
                let during = try await client.request(.get, "/metrics").text

                #expect(ready == .ready(userID: UserID(rawValue: "ana")!))
                #expect(before.contains("herald_realtime_connections 0"), "\(before)")
                #expect(during.contains("herald_realtime_connections 1"), "\(during)")
                await socket.close()
            }
        }
    }

    @Test("A first auth frame authenticates the socket; a bad one closes it with 4401")
    func frameAuth() async throws {
        try await TestHarness.with { harness in
            let token = try await harness.token(for: "ben")
            try await harness.run(.live) { client in
                let good = TestSocket(port: client.port, auth: .frame(token))
                let bad = TestSocket(port: client.port, auth: .frame("not.a.token"))

                #expect(await good.next("ready") == .ready(userID: UserID(rawValue: "ben")!))
                #expect(await bad.closeCode() == 4401)
                await good.close()
            }
        }
    }

    @Test("A socket that never authenticates is closed with 4408")
    func authTimeout() async throws {
        try await TestHarness.with(configure: { $0.realtime.authTimeout = .milliseconds(200) }) { harness in
            try await harness.run(.live) { client in
                let socket = TestSocket(port: client.port, auth: .none)

                #expect(await socket.closeCode() == 4408)
            }
        }
    }

    @Test("An API key cannot open the realtime gateway")
    func platformKeyRefused() async throws {
        try await TestHarness.with { harness in
            try await harness.run(.live) { client in
                let socket = TestSocket(port: client.port, auth: .header(harness.apiKey))

                #expect(await socket.closeCode() == nil, "the upgrade is refused with 403")
            }
        }
    }

    @Test("A send is acked after the commit and delivered to every device of every member")
    func ackAndFanOut() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            let anaToken = try await harness.token(for: "ana")
            let benToken = try await harness.token(for: "ben")
            try await harness.run(.live) { client in
                let ana = TestSocket(port: client.port, auth: .header(anaToken))
                let benPhone = TestSocket(port: client.port, auth: .header(benToken))
                let benLaptop = TestSocket(port: client.port, auth: .frame(benToken))
                for socket in [ana, benPhone, benLaptop] { #expect(await socket.ready()) }

                ana.send(message: "hello", to: channel.id, clientMessageID: "c1")

                let ack = try #require(await ana.next("ack"))
                guard case .ack(let clientMessageID, let message) = ack else { throw CancellationError() }
                #expect(clientMessageID.rawValue == "c1" && message.seq == 1 && message.sender == harness.user("ana"))
                #expect(try await harness.store.message(message.id, in: channel.id, app: harness.app) == message, "acked means stored")
                #expect(await benPhone.next("message.created")?.message == message)
                #expect(await benLaptop.next("message.created")?.message == message)
                for socket in [ana, benPhone, benLaptop] { await socket.close() }
            }
        }
    }

    @Test("A repeated clientMessageId is acked with the first message and stored once")
    func duplicateClientMessageID() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            let anaToken = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                let ana = TestSocket(port: client.port, auth: .header(anaToken))
                #expect(await ana.ready())

                ana.send(message: "pay 10", to: channel.id, clientMessageID: "same")
                let first = await ana.next("ack")?.message
                ana.send(message: "pay 10", to: channel.id, clientMessageID: "same")
                let second = await ana.next("ack")?.message

                #expect(first != nil && first == second)
                let history = try await harness.store.history(of: channel.id, in: harness.app, query: HistoryQuery())
                #expect(history.messages.count == 1)
                await ana.close()
            }
        }
    }

    @Test("After a reconnect, sync returns exactly the missed messages in order, then sync.done")
    func syncAfterReconnect() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            let benToken = try await harness.token(for: "ben")
            try await harness.run(.live) { client in
                let first = TestSocket(port: client.port, auth: .header(benToken))
                #expect(await first.ready())
                for index in 1...3 { try await harness.post("m\(index)", to: channel, from: "ana") }
                var seen: [Int64] = []
                for _ in 1...3 { seen.append(await first.next("message.created")?.message?.seq ?? -1) }
                await first.close()

                for index in 4...8 { try await harness.post("m\(index)", to: channel, from: "ana") }
                let second = TestSocket(port: client.port, auth: .header(benToken))
                #expect(await second.ready())
                second.send(#"{"type":"sync","channelId":"\#(channel.id)","afterSeq":\#(seen.last ?? 0)}"#)
                var synced: [String] = []
                while let event = await second.nextEvent() {
                    guard case .frame(let frame) = event else { break }
                    if case .syncDone(_, let lastSeq) = frame {
                        #expect(lastSeq == 8)
                        break
                    }
                    if let message = frame.message { synced.append(message.text) }
                }

                #expect(seen == [1, 2, 3])
                #expect(synced == ["m4", "m5", "m6", "m7", "m8"])
                await second.close()
            }
        }
    }

    @Test("A consumer that stops reading is closed with 1008 while the others keep receiving")
    func slowConsumer() async throws {
        try await TestHarness.with(configure: { $0.realtime.outboundQueueFrames = 16 }) { harness in
            let channel = try await harness.group(["ana", "ben", "cat"])
            let benToken = try await harness.token(for: "ben")
            let catToken = try await harness.token(for: "cat")
            try await harness.run(.live) { client in
                let slow = TestSocket(port: client.port, auth: .header(benToken), reading: false)
                let fast = TestSocket(port: client.port, auth: .header(catToken))
                #expect(await fast.ready())
                while harness.hub.connectionCount(of: harness.user("ben"), in: harness.app) == 0 { await Task.yield() }

                // 1,000 messages of ~10 KB: far more than the socket buffers and the queue of 16 can hold.
                let text = String(repeating: "x", count: 10_000)
                var received = 0
                for _ in 0..<1_000 {
                    try await harness.post(text, to: channel, from: "ana")
                    if await fast.next("message.created") != nil { received += 1 }
                }
                slow.startReading()
                var slowReceived = 0
                var slowClose: Int?
                while let event = await slow.nextEvent() {
                    switch event {
                    case .frame(let frame) where frame.type == "message.created": slowReceived += 1
                    case .closed(let code): slowClose = code
                    default: continue
                    }
                }

                #expect(received == 1_000, "the fast member got every message")
                #expect(slowClose == 1008)
                #expect(slowReceived < 1_000)
                await fast.close()
            }
        }
    }

    @Test("A frame over the size limit closes the socket with 4413")
    func oversizeFrame() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            let token = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                let socket = TestSocket(port: client.port, auth: .header(token))
                #expect(await socket.ready())

                socket.send(message: String(repeating: "a", count: 70_000), to: channel.id, clientMessageID: "big")

                #expect(await socket.closeCode() == 4413)
            }
        }
    }

    @Test("Too many frames too fast close the socket with 4429")
    func rateLimit() async throws {
        try await TestHarness.with(configure: { $0.realtime.framesPerSecond = 1; $0.realtime.frameBurst = 5 }) { harness in
            let channel = try await harness.group(["ana", "ben"])
            let token = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                let socket = TestSocket(port: client.port, auth: .header(token))
                #expect(await socket.ready())

                for _ in 0..<50 { socket.send(#"{"type":"typing","channelId":"\#(channel.id)"}"#) }

                #expect(await socket.closeCode() == 4429)
            }
        }
    }

    @Test("An expired token closes the socket with 4401")
    func tokenExpiry() async throws {
        // The clock stands still: the token is valid however long the connection takes to set up, and
        // the gateway's watchdog then waits out its last half second.
        let clock = TestClock("2026-11-25T09:00:00Z")
        try await TestHarness.with(clock: clock) { harness in
            let token = try await harness.token(for: "ana", ttlSeconds: 60)
            clock.advance(by: 59.5)
            try await harness.run(.live) { client in
                let socket = TestSocket(port: client.port, auth: .header(token))
                #expect(await socket.ready())

                #expect(await socket.closeCode() == 4401)
            }
        }
    }

    @Test("Typing reaches the other members and is never stored")
    func typing() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            try await harness.run(.live) { client in
                let ana = try #require(try await client.readySocket(as: "ana", harness: harness))
                let ben = try #require(try await client.readySocket(as: "ben", harness: harness))

                ana.send(#"{"type":"typing","channelId":"\#(channel.id)"}"#)

                #expect(await ben.next("typing") == .typing(channelID: channel.id, userID: harness.user("ana")))
                let lastSeq = try await harness.store.channel(channel.id, in: harness.app)?.lastSeq
                #expect(lastSeq == 0)
                await ana.close()
                await ben.close()
            }
        }
    }

    @Test("A read frame moves the read position and tells the members")
    func readFrame() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            for index in 1...3 { try await harness.post("m\(index)", to: channel, from: "ana") }
            try await harness.run(.live) { client in
                let ana = try #require(try await client.readySocket(as: "ana", harness: harness))
                let ben = try #require(try await client.readySocket(as: "ben", harness: harness))

                ben.send(#"{"type":"read","channelId":"\#(channel.id)","seq":2}"#)

                let expected = ServerFrame.read(ReadPosition(channelId: channel.id, userId: harness.user("ben"), seq: 2))
                #expect(await ana.next("read") == expected)
                let summary = try await harness.store.channelSummaries(of: harness.user("ben"), in: harness.app)
                #expect(summary.first?.unreadCount == 1)
                await ana.close()
                await ben.close()
            }
        }
    }

    @Test("Edits and deletes made over HTTP reach live members as message.updated and message.deleted")
    func editAndDeleteFrames() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            let message = try await harness.post("helo", to: channel, from: "ana")
            let anaToken = try await harness.token(for: "ana")
            let benToken = try await harness.token(for: "ben")
            try await harness.run(.live) { client in
                let ben = TestSocket(port: client.port, auth: .header(benToken))
                #expect(await ben.ready())
                let path = "/v1/channels/\(channel.id)/messages/\(message.id)"

                let edit = try await client.request(.patch, path, auth: anaToken, body: #"{"text":"hello"}"#)
                let updated = await ben.next("message.updated")?.message
                let delete = try await client.request(.delete, path, auth: anaToken)
                let deleted = await ben.next("message.deleted")?.message

                #expect(edit.status == .ok && delete.status == .ok)
                #expect(updated?.text == "hello" && updated?.seq == 1)
                #expect(deleted?.deleted == true && deleted?.seq == 1 && deleted?.text == "")
                await ben.close()
            }
        }
    }

    @Test("Bad frames get an error frame naming the send; the connection stays open")
    func errorFrames() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ben", "cat"])
            let token = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                let ana = TestSocket(port: client.port, auth: .header(token))
                #expect(await ana.ready())

                ana.send(message: "let me in", to: channel.id, clientMessageID: "n1")
                let forbidden = await ana.next("error")
                ana.send(#"{"type":"message.send","channelId":"\#(channel.id)","clientMessageId":"n2","text":42}"#)
                let invalid = await ana.next("error")
                ana.send("{not json")
                let malformed = await ana.next("error")
                ana.send(message: "anyone?", to: ChannelID.generate(), clientMessageID: "n3")
                let missing = await ana.next("error")

                #expect(forbidden == .error(code: "forbidden", detail: "Not a member of this channel.", clientMessageID: ClientMessageID(rawValue: "n1")))
                #expect(invalid == .error(code: "invalid", detail: "text: wrong_type", clientMessageID: ClientMessageID(rawValue: "n2")))
                #expect(malformed == .error(code: "malformed", detail: "The body is not valid JSON.", clientMessageID: nil))
                #expect(missing == .error(code: "not_found", detail: "The channel does not exist.", clientMessageID: ClientMessageID(rawValue: "n3")))
                await ana.close()
            }
        }
    }

    @Test("A browser page connects only from an allowed origin; clients without Origin are not affected")
    func originCheck() async throws {
        try await TestHarness.with { harness in
            _ = try await harness.store.updateSettings(of: harness.app) { current in
                try current.merging(body: Data(#"{"realtime":{"allowedOrigins":["https://App.Acme-Bank.example:443/"]}}"#.utf8))
            }
            let token = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                let allowed = TestSocket(port: client.port, auth: .header(token), origin: "https://app.acme-bank.example")
                let foreign = TestSocket(port: client.port, auth: .header(token), origin: "https://evil.example")
                let foreignByFrame = TestSocket(port: client.port, auth: .frame(token), origin: "https://evil.example")
                let native = TestSocket(port: client.port, auth: .header(token))

                #expect(await allowed.ready())
                #expect(await foreign.ready() == false, "the upgrade is refused")
                #expect(await foreignByFrame.closeCode() == 4403)
                #expect(await native.ready())
                await allowed.close()
                await native.close()
            }
        }
    }
}
