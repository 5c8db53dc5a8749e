import Foundation
import HTTPTypes
import HeraldCore
import HeraldServer
import Hummingbird
import HummingbirdTesting
import Testing

/// Bad input gets the right status and a problem document, and never a 500.
@Suite("Malformed input")
struct MalformedInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var method: HTTPRequest.Method
        var path: String
        var body: [UInt8]?
        var headers: HTTPFields = [:]
        var status: HTTPResponse.Status
        var fields: [String]? = nil

        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "broken JSON", method: .post, path: "/v1/channels/{channel}/messages", body: Array(#"{"text": "hi""#.utf8), status: .badRequest),
        Case(name: "bad UTF-8", method: .post, path: "/v1/channels/{channel}/messages", body: [0x7B, 0x22, 0x74, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D], status: .badRequest),
        Case(name: "an array instead of an object", method: .post, path: "/v1/channels", body: Array("[1, 2]".utf8), status: .badRequest),
        Case(
            name: "wrong types, every field reported", method: .post, path: "/v1/channels", body: Array(#"{"type": 1, "members": "ana", "name": []}"#.utf8),
            status: .unprocessableContent, fields: ["members", "name", "type"]),
        Case(
            name: "unknown fields", method: .put, path: "/v1/users/ana", body: Array(#"{"name": "Ana", "nickname": "A"}"#.utf8), status: .unprocessableContent,
            fields: ["nickname"]),
        Case(name: "a huge body", method: .post, path: "/v1/channels/{channel}/messages", body: Array(repeating: 0x20, count: 100_000), status: .contentTooLarge),
        Case(
            name: "an invalid user id", method: .put, path: "/v1/users/not%20valid!", body: Array("{}".utf8), status: .unprocessableContent, fields: ["userId"]
        ),
        Case(name: "an id of the wrong kind", method: .get, path: "/v1/channels/msg_0000000000000000000000000/messages", status: .notFound),
        Case(name: "an unknown route", method: .get, path: "/v1/nothing-here", status: .notFound),
        Case(name: "a wrong method", method: .put, path: "/v1/channels", body: Array("{}".utf8), status: .methodNotAllowed),
        Case(name: "a bad limit", method: .get, path: "/v1/channels/{channel}/messages?limit=banana", status: .unprocessableContent, fields: ["limit"]),
        Case(name: "a negative cursor", method: .get, path: "/v1/channels/{channel}/messages?after=-5", status: .unprocessableContent, fields: ["after"]),
        Case(
            name: "a too-long idempotency key", method: .post, path: "/v1/channels/{channel}/messages", body: Array(#"{"text":"x"}"#.utf8),
            headers: [HTTPField.Name("Idempotency-Key")!: String(repeating: "k", count: 300)], status: .unprocessableContent, fields: ["Idempotency-Key"]),
        Case(
            name: "a ttl beyond 30 days", method: .post, path: "/v1/users/ana/tokens", body: Array(#"{"ttlSeconds": 9999999999}"#.utf8),
            status: .unprocessableContent, fields: ["ttlSeconds"]),
        Case(
            name: "a notification body beyond 1 MiB", method: .post, path: "/v1/notifications", body: Array(repeating: 0x20, count: 1_100_000),
            status: .contentTooLarge),
        Case(
            name: "more than 10,000 recipients", method: .post, path: "/v1/notifications",
            body: Array((#"{"category":"security","content":{"title":"t","body":"b"},"recipients":["# + Array(repeating: #""u""#, count: 10_001).joined(separator: ",") + "]}").utf8),
            status: .unprocessableContent, fields: ["recipients"]),
        Case(name: "a stats window end that is not a time", method: .get, path: "/v1/stats?to=soon", status: .unprocessableContent, fields: ["to"]),
        Case(name: "a sender who is not a member", method: .post, path: "/v1/channels/{channel}/messages", body: Array(#"{"text":"x","sender":"dan"}"#.utf8),
            status: .unprocessableContent, fields: ["sender"]),
    ]

    @Test("Each malformed request gets its status and a problem document", arguments: cases)
    func malformed(testCase: Case) async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            let path = testCase.path.replacingOccurrences(of: "{channel}", with: channel.id.rawValue)

            let response = try await harness.run { client in
                var headers = testCase.headers
                headers[.authorization] = "Bearer \(harness.apiKey)"
                headers[.contentType] = "application/json"
                return try await client.client.executeRequest(
                    uri: path, method: testCase.method, headers: headers, body: testCase.body.map { ByteBuffer(bytes: $0) })
            }

            #expect(response.status == testCase.status)
            #expect(response.headers[.contentType] == "application/problem+json")
            let problem = try #require(response.problem)
            #expect(problem.status == testCase.status.code)
            if let fields = testCase.fields {
                #expect(problem.errors?.map(\.field).sorted() == fields)
            }
        }
    }

    @Test("Random bytes to every route never make the server answer 500")
    func randomBodies() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            let message = try await harness.post("x", to: channel, from: "ana")
            let token = try await harness.token(for: "ana")
            try await harness.seedTemplates()
            let (_, item) = try await harness.seedInboxItem(for: "ana")
            let routes: [(HTTPRequest.Method, String)] = [
                (.put, "/v1/users/ana"), (.post, "/v1/users/ana/tokens"), (.post, "/v1/channels"), (.post, "/v1/channels/\(channel.id)/members"),
                (.post, "/v1/channels/\(channel.id)/messages"), (.patch, "/v1/channels/\(channel.id)/messages/\(message.id)"),
                (.post, "/v1/channels/\(channel.id)/read"), (.put, "/v1/settings"), (.put, "/v1/templates/alert"), (.post, "/v1/templates/alert/preview"),
                (.post, "/v1/notifications"), (.put, "/v1/me/preferences"), (.post, "/v1/me/devices"), (.post, "/v1/me/inbox/read-all"),
                (.post, "/v1/me/inbox/\(item)/actions/approve"), (.post, "/v1/me/inbox/\(item)/actions/decline"), (.put, "/v1/webhooks"),
                (.put, "/v1/push/apns"), (.put, "/v1/push/fcm"),
            ]
            var generator = SeededGenerator(seed: 42)
            let fragments = [#"{"#, #"}"#, #"["#, #"]"#, #"""#, ":", ",", "null", "true", "1e400", "-0", #""text""#, #""members""#, #""type""#, #""recipients""#, #""content""#, #""actions""#, #""input""#, "\u{0}", "é", #"\ud800"#]
            let bodies: [[UInt8]] = (0..<60).map { index in
                if index.isMultiple(of: 3) { return (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) } }
                return Array((0..<Int.random(in: 1...12, using: &generator)).map { _ in fragments.randomElement(using: &generator)! }.joined().utf8)
            }

            let statuses = try await harness.run { client in
                var statuses: [UInt] = []
                for (method, path) in routes {
                    for body in bodies {
                        for auth in [harness.apiKey, token] {
                            statuses.append(UInt(try await client.request(method, path, auth: auth, bytes: body).status.code))
                        }
                    }
                }
                return statuses
            }

            #expect(statuses.count == routes.count * bodies.count * 2)
            #expect(statuses.allSatisfy { $0 < 500 }, "5xx: \(statuses.filter { $0 >= 500 })")
        }
    }
}

/// A small deterministic generator (SplitMix64), so a failing input can be reproduced.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
