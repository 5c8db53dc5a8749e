import Foundation
import HeraldCore
@testable import HeraldServer
import HeraldStore
import HeraldTestSupport
import Testing

/// A customer (or a script with a customer's token) turning the realtime gateway against the server:
/// many sockets, frames spread over them, typing storms, and sockets that vanish mid-reply.
@Suite("Attacker: a customer who floods the realtime gateway", .serialized)
struct RealtimeFloodTests {
    @Test("A user's socket beyond --user-connections is closed with 4429; other users still connect")
    func socketsPerUser() async throws {
        try await TestHarness.with(configure: { $0.realtime.connectionsPerUser = 3 }) { harness in
            try await harness.run(.live) { client in
                var held: [TestSocket] = []
                for _ in 0..<3 { held.append(try #require(try await client.readySocket(as: "ana", harness: harness))) }
                let extra = TestSocket(port: client.port, auth: .header(try await harness.token(for: "ana")))
                let ben = try await client.readySocket(as: "ben", harness: harness)

                #expect(await extra.closeCode() == 4429)
                #expect(ben != nil)
                #expect(harness.hub.connectionCount(of: harness.user("ana"), in: harness.app) == 3)
                for socket in held { await socket.close() }
                await ben?.close()
            }
        }
    }

    @Test("The frame budget is the user's, shared by their sockets: spreading frames over two sockets does not double it")
    func frameBudgetPerUser() async throws {
        try await TestHarness.with(configure: { $0.realtime.framesPerSecond = 0.001; $0.realtime.frameBurst = 10 }) { harness in
            let channel = try await harness.group(["ana", "ben"])
            try await harness.run(.live) { client in
                let first = try #require(try await client.readySocket(as: "ana", harness: harness))
                let second = try #require(try await client.readySocket(as: "ana", harness: harness))

                // Seven frames on each: within each socket's own 10, but 14 of the user's 10. The first
                // socket's are all handled (acked) before the second sends.
                for index in 0..<7 { first.send(message: "a\(index)", to: channel.id, clientMessageID: "a\(index)") }
                var acks = 0
                for _ in 0..<7 where await first.next("ack") != nil { acks += 1 }
                for index in 0..<7 { second.send(message: "b\(index)", to: channel.id, clientMessageID: "b\(index)") }

                #expect(acks == 7)
                #expect(await second.closeCode() == 4429)
                await first.close()
            }
        }
    }

    @Test("Typing is relayed once per interval and channel, however fast it is sent")
    func typingThrottled() async throws {
        try await TestHarness.with(configure: { $0.realtime.typingInterval = .seconds(3600) }) { harness in
            let channel = try await harness.group(["ana", "ben"])
            try await harness.run(.live) { client in
                let ana = try #require(try await client.readySocket(as: "ana", harness: harness))
                let ben = try #require(try await client.readySocket(as: "ben", harness: harness))

                for _ in 0..<20 { ana.send(#"{"type":"typing","channelId":"\#(channel.id)"}"#) }
                ana.send(message: "done", to: channel.id, clientMessageID: "after-typing")
                var typing = 0
                loop: while let event = await ben.nextEvent() {
                    switch event {
                    case .frame(let frame) where frame.type == "typing": typing += 1
                    case .frame(let frame) where frame.type == "message.created": break loop
                    case .closed: break loop
                    default: continue
                    }
                }

                #expect(typing == 1)
                await ana.close()
                await ben.close()
            }
        }
    }

    @Test("Typing in a channel with more members than the limit reaches nobody")
    func typingInACrowd() async throws {
        try await TestHarness.with(configure: { $0.realtime.typingMaxMembers = 2 }) { harness in
            let channel = try await harness.group(["ana", "ben", "cat"])
            try await harness.run(.live) { client in
                let ana = try #require(try await client.readySocket(as: "ana", harness: harness))
                let ben = try #require(try await client.readySocket(as: "ben", harness: harness))

                ana.send(#"{"type":"typing","channelId":"\#(channel.id)"}"#)
                ana.send(message: "hello", to: channel.id, clientMessageID: "after-typing")
                var types: [String] = []
                while let event = await ben.nextEvent() {
                    guard case .frame(let frame) = event else { break }
                    types.append(frame.type)
                    if frame.type == "message.created" { break }
                }

                #expect(types == ["message.created"])
                await ana.close()
                await ben.close()
            }
        }
    }

    @Test("A socket reset in the middle of a large sync is released: no reader, queue or hub entry stays behind")
    func resetDuringSync() async throws {
        try await TestHarness.with(configure: { $0.realtime.outboundQueueFrames = 16 }) { harness in
            let channel = try await harness.group(["ana", "ben"])
            let text = String(repeating: "x", count: 10_000)
            for _ in 0..<1_000 { try await harness.post(text, to: channel, from: "ben") }
            let token = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                let raw = try RawHTTPConnection(port: client.port)
                #expect(raw.upgradeToWebSocket(token: token))
                while harness.hub.connectionCount(of: harness.user("ana"), in: harness.app) == 0 { await Task.yield() }

                // Ten megabytes asked for and never read: the server's reader ends up waiting for room.
                raw.sendWebSocketText(#"{"type":"sync","channelId":"\#(channel.id)","afterSeq":0}"#)
                while raw.bytesWaiting() < 100_000 { await Task.yield() }
                raw.reset()

                let released = await withTaskGroup(of: Bool.self) { group in
                    group.addTask { await harness.hub.waitUntilEmpty(); return true }
                    group.addTask { try? await Task.sleep(for: .seconds(30)); return false }
                    defer { group.cancelAll() }
                    return await group.next() ?? false
                }
                #expect(released, "the connection was released")
            }
        }
    }

    @Test("Connections that send nothing, trickle a request head, or idle after a request are closed; an idle WebSocket is not")
    func idleHTTPConnections() async throws {
        try await TestHarness.with(configure: {
            $0.httpIdleTimeout = .milliseconds(300)
            $0.requestBodyTimeout = .milliseconds(300)
        }) { harness in
            let channel = try await harness.group(["ana", "ben"])
            try await harness.run(.live) { client in
                let ben = try #require(try await client.readySocket(as: "ben", harness: harness))
                let silent = try RawHTTPConnection(port: client.port)
                let trickling = try RawHTTPConnection(port: client.port)
                trickling.send("GET /hea")
                // Blank lines before a request line are skipped by HTTP parsers: they must not end the watch.
                let blankFirst = try RawHTTPConnection(port: client.port)
                blankFirst.send("\r\n\r\nGET /he")
                let keptAlive = try RawHTTPConnection(port: client.port)
                keptAlive.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")

                #expect(silent.waitForClose(), "a connection that never sends is closed")
                #expect(trickling.waitForClose(), "a request head that never ends is closed")
                #expect(blankFirst.waitForClose(), "blank lines first do not count as a request head")
                #expect(keptAlive.status() == 200)
                #expect(keptAlive.waitForClose(), "an idle keep-alive connection is closed")
                // Ben's socket has been idle at least as long, and still delivers.
                try await harness.post("still here", to: channel, from: "ana")
                #expect(await ben.next("message.created") != nil)
                await ben.close()
            }
        }
    }
}
