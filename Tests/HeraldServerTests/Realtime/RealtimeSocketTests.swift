import Foundation
import HeraldCore
@testable import HeraldServer
import HeraldTestSupport
import Testing

/// The WebSocket layer of `/v1/realtime` (Herald's own channel handlers), seen from a bare TCP client:
/// the upgrade's answers, control frames, fragments and what a misbehaving client gets.
///
/// The bare client's reads block, so they run off the cooperative pool (`offPool`): on two cores, two
/// blocked reads would otherwise starve the server's own tasks in the same process.
@Suite("Realtime sockets at the frame level")
struct RealtimeSocketTests {
    @Test("A refused upgrade is answered with the router's problem (401 for a bad token, 403 for an API key), then closed")
    func refusedUpgradeAnswers() async throws {
        try await TestHarness.with { harness in
            try await harness.run(.live) { client in
                for (credential, status, type) in [("not.a.token", 401, "unauthenticated"), (harness.apiKey, 403, "forbidden")] {
                    let raw = try RawHTTPConnection(port: client.port)
                    raw.send(RawHTTPConnection.upgradeRequest(token: credential))

                    let response = await offPool { raw.response() }

                    #expect(response.status == status)
                    #expect(response.head.lowercased().contains("content-type: application/problem+json"), "\(response.head)")
                    #expect(response.head.lowercased().contains("connection: close"))
                    #expect(response.body.contains(#""type":"\#(type)""#), "\(response.body)")
                }
            }
        }
    }

    @Test("A plain GET of the gateway is told to upgrade (426)")
    func plainGetIsUpgradeRequired() async throws {
        try await TestHarness.with { harness in
            let token = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                let response = try await client.request(.get, "/v1/realtime", headers: [.authorization: "Bearer \(token)"])
                #expect(response.status.code == 426)
                #expect(response.headers[.upgrade] == "websocket")
            }
        }
    }

    @Test("A binary frame closes with 1003, text that is not UTF-8 with 1007")
    func binaryAndInvalidText() async throws {
        try await TestHarness.with { harness in
            let token = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                let binary = try RawHTTPConnection(port: client.port)
                #expect(await offPool { binary.upgradeAndReadHead(token: token) })
                binary.sendWebSocketFrame(opcode: 0x2, payload: [1, 2, 3])
                let invalid = try RawHTTPConnection(port: client.port)
                #expect(await offPool { invalid.upgradeAndReadHead(token: token) })
                invalid.sendWebSocketFrame(opcode: 0x1, payload: [0x7B, 0xC3, 0x28, 0x7D])

                #expect(await offPool { binary.webSocketCloseCode() } == 1003)
                #expect(await offPool { invalid.webSocketCloseCode() } == 1007)
            }
        }
    }

    @Test("A client's ping gets a pong with its payload; a fragmented text frame is handled whole")
    func pingAndFragments() async throws {
        try await TestHarness.with { harness in
            let token = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                let raw = try RawHTTPConnection(port: client.port)
                #expect(await offPool { raw.upgradeAndReadHead(token: token) })
                #expect(await offPool { raw.readWebSocketFrame() }.map { String(decoding: $0.payload, as: UTF8.self) }?.contains(#""type":"ready""#) == true)

                raw.sendWebSocketFrame(opcode: 0x9, payload: Array("are you there".utf8))
                let pong = await offPool { raw.readWebSocketFrame() }
                #expect(pong?.opcode == 0xA)
                #expect(pong.map { String(decoding: $0.payload, as: UTF8.self) } == "are you there")

                raw.sendWebSocketFrame(opcode: 0x1, payload: Array(#"{"type":"#.utf8), fin: false)
                raw.sendWebSocketFrame(opcode: 0x0, payload: Array(#""nonsense"}"#.utf8))
                let answer = await offPool { raw.readWebSocketFrame() }.map { String(decoding: $0.payload, as: UTF8.self) } ?? ""
                #expect(answer.contains(#""type":"error""#), "\(answer)")
                #expect(answer.contains("nonsense") || answer.contains("invalid") || answer.contains("malformed"), "\(answer)")
            }
        }
    }

    @Test("A client's close is answered with its code and the connection ends")
    func closeHandshake() async throws {
        try await TestHarness.with { harness in
            let token = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                let raw = try RawHTTPConnection(port: client.port)
                try #require(await offPool { raw.upgradeAndReadHead(token: token) }, "\(raw.lastHead)")
                while harness.hub.connectionCount(of: harness.user("ana"), in: harness.app) == 0 { await Task.yield() }

                raw.sendWebSocketFrame(opcode: 0x8, payload: [0x0F, 0xA0])  // 4000

                #expect(await offPool { raw.webSocketCloseCode() } == 4000)
                #expect(await offPool { raw.waitForClose() })
                await harness.hub.waitUntilEmpty()
            }
        }
    }

    @Test("A client that does not answer the server's ping is closed at the next one")
    func unansweredPing() async throws {
        try await TestHarness.with(configure: { $0.realtime.pingInterval = .milliseconds(200) }) { harness in
            let token = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                let raw = try RawHTTPConnection(port: client.port)
                #expect(await offPool { raw.upgradeAndReadHead(token: token) })

                let (sawPing, close) = await offPool { () -> (Bool, Int?) in
                    var sawPing = false
                    while let frame = raw.readWebSocketFrame() {
                        if frame.opcode == 0x9 { sawPing = true }
                        if frame.opcode == 0x8 { return (sawPing, Int(frame.payload[0]) << 8 | Int(frame.payload[1])) }
                    }
                    return (sawPing, nil)
                }

                #expect(sawPing)
                #expect(close == 1001)
            }
        }
    }

    @Test("A pong that does not answer the server's ping does not keep a client alive")
    func unmatchedPongs() async throws {
        try await TestHarness.with(configure: { $0.realtime.pingInterval = .milliseconds(200) }) { harness in
            let token = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                let raw = try RawHTTPConnection(port: client.port)
                try #require(await offPool { raw.upgradeAndReadHead(token: token) })

                // Every ping is answered at once, but with a payload other than the ping's.
                let (answered, close) = await offPool { () -> (Int, Int?) in
                    var answered = 0
                    while let frame = raw.readWebSocketFrame() {
                        if frame.opcode == 0x9 {
                            raw.sendWebSocketFrame(opcode: 0xA, payload: frame.payload.map { ~$0 })
                            answered += 1
                        }
                        if frame.opcode == 0x8 { return (answered, Int(frame.payload[0]) << 8 | Int(frame.payload[1])) }
                    }
                    return (answered, nil)
                }

                #expect(answered >= 1)
                #expect(close == 1001)
            }
        }
    }

    @Test("Frames sent right behind the auth frame are charged to the user's budget once the socket is authenticated")
    func framesBehindAuthAreCharged() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            let token = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                let raw = try RawHTTPConnection(port: client.port)
                try #require(await offPool { raw.upgradeAndReadHead(token: nil) })

                let typing = #"{"type":"typing","channelId":"\#(channel.id)"}"#
                raw.sendWebSocketTexts([#"{"type":"auth","token":"\#(token)"}"#] + Array(repeating: typing, count: 400))

                #expect(await offPool { raw.webSocketCloseCode() } == 4429)
            }
        }
    }

    @Test("A client's close with a code that may not be sent back (1005) is answered with 1002")
    func closeWithReservedCode() async throws {
        try await TestHarness.with { harness in
            let token = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                let raw = try RawHTTPConnection(port: client.port)
                try #require(await offPool { raw.upgradeAndReadHead(token: token) })

                raw.sendWebSocketFrame(opcode: 0x8, payload: [0x03, 0xED])  // 1005

                #expect(await offPool { raw.webSocketCloseCode() } == 1002)
            }
        }
    }

    @Test("An upgrade asked for late on a keep-alive connection, or without a key, is refused and the connection closed (never redirected)")
    func lateOrMalformedHandshake() async throws {
        try await TestHarness.with { harness in
            let token = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                let late = try RawHTTPConnection(port: client.port)
                late.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n" + RawHTTPConnection.upgradeRequest(token: token))
                let keyless = try RawHTTPConnection(port: client.port)
                keyless.send(RawHTTPConnection.upgradeRequest(token: token, key: false))

                let lateAnswer = await offPool { late.response() }
                let keylessAnswer = await offPool { keyless.response() }

                #expect(lateAnswer.status == 200, "the first request is served")
                #expect(lateAnswer.body.contains("HTTP/1.1 400"), "\(lateAnswer)")
                #expect(keylessAnswer.status != 101 && keylessAnswer.status != 307, "\(keylessAnswer)")
            }
        }
    }

    @Test("Upgrade headers on another route do not run it: a DELETE with them erases nobody")
    func upgradeHeadersElsewhere() async throws {
        try await TestHarness.with { harness in
            try await harness.run(.live) { client in
                #expect(try await client.request(.put, "/v1/users/ana", auth: harness.apiKey, body: "{}").status.code < 300)
                let raw = try RawHTTPConnection(port: client.port)
                raw.send(RawHTTPConnection.upgradeRequest(token: harness.apiKey, method: "DELETE", path: "/v1/users/ana"))

                #expect(await offPool { raw.response() }.status == 404)
                #expect(try await client.request(.get, "/v1/users/ana", auth: harness.apiKey).status == .ok, "the user is still there")
            }
        }
    }

    @Test("Sends written back to back are pipelined: stored in the order sent and acked in that order")
    func pipelinedSends() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            let token = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                let raw = try RawHTTPConnection(port: client.port)
                try #require(await offPool { raw.upgradeAndReadHead(token: token) })
                _ = await offPool { raw.readWebSocketFrame() }  // ready

                let sends = (0..<40).map { #"{"type":"message.send","channelId":"\#(channel.id)","clientMessageId":"p\#($0)","text":"n\#($0)"}"# }
                raw.sendWebSocketTexts(sends)
                let acks = await offPool { () -> [ServerFrame] in
                    var acks: [ServerFrame] = []
                    while acks.count < 40, let frame = raw.readWebSocketFrame() {
                        if let decoded = try? WireJSON.decoder().decode(ServerFrame.self, from: Data(frame.payload)), decoded.type == "ack" { acks.append(decoded) }
                    }
                    return acks
                }

                let order = acks.compactMap { frame -> (String, Int64)? in
                    guard case .ack(let id, let message) = frame else { return nil }
                    return (id.rawValue, message.seq)
                }
                #expect(order.map(\.0) == (0..<40).map { "p\($0)" })
                #expect(order.map(\.1) == Array(1...40), "stored in the order sent, without gaps")
                let history = try await harness.store.history(of: channel.id, in: harness.app, query: HistoryQuery(after: 0, limit: 100))
                #expect(history.messages.map(\.text) == (0..<40).map { "n\($0)" })
            }
        }
    }
}
