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
                #expect(await offPool { raw.upgradeAndReadHead(token: token) }, "\(raw.lastHead)")
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
}
