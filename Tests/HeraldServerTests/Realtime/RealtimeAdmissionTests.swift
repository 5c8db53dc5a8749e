import Crypto
import Foundation
import HeraldCore
@testable import HeraldServer
import HeraldTestSupport
import JWTKit
import Testing

/// `RealtimeAdmission`: upgrades decided on the event loop from what the server already knows, seen
/// by whoever would abuse what it remembers (a revoked or erased customer's token, a forged token
/// under a known key id, a token replayed faster than the user's budget).
///
/// With SQLite the store knows a user's epoch once it has read it, so a known user's upgrade is
/// decided in memory; PostgreSQL never knows it without a read (another node may have revoked it), so
/// there every upgrade goes to the router. Both passes check the same refusals.
@Suite("Realtime upgrades admitted from memory")
struct RealtimeAdmissionTests {
    @Test("A known user's upgrade is admitted in memory; after a revocation, and after an erasure, the same token is refused at once")
    func revokedAndErasedTokensAreNotAdmitted() async throws {
        try await TestHarness.with { harness in
            try await harness.run(.live) { client in
                let token = try await harness.token(for: "ana")
                #expect(try await client.request(.get, "/v1/me/inbox", auth: token).status == .ok)
                let first = TestSocket(port: client.port, auth: .header(token))
                let second = TestSocket(port: client.port, auth: .header(token))
                #expect(await first.ready())
                #expect(await second.ready())
                let inMemory = try await Self.upgrades(client, decided: "memory")
                #expect(inMemory == (harness.databaseURL == nil ? 2 : 0))

                #expect(try await client.request(.post, "/v1/users/ana/tokens/revoke", auth: harness.apiKey).status == .noContent)

                #expect(await first.closeCode() == 4401)
                #expect(await Self.upgradeStatus(client, token: token) == 401)
                let fresh = try await harness.token(for: "ana")
                let third = TestSocket(port: client.port, auth: .header(fresh))
                #expect(await third.ready())
                let fourth = TestSocket(port: client.port, auth: .header(fresh))
                #expect(await fourth.ready())
                // Issuing the fresh token read the new epoch, and the store remembered it.
                #expect(try await Self.upgrades(client, decided: "memory") == inMemory + (harness.databaseURL == nil ? 2 : 0))

                #expect(try await client.request(.delete, "/v1/users/ana", auth: harness.apiKey).status == .noContent)

                #expect(await Self.upgradeStatus(client, token: fresh) == 401)
                await second.close()
                await third.close()
                await fourth.close()
            }
        }
    }

    @Test("A token under a known key id with the wrong secret, or with its claims changed, is refused, never admitted from memory")
    func forgedTokensAreRefused() async throws {
        try await TestHarness.with { harness in
            try await harness.run(.live) { client in
                let token = try await harness.token(for: "ana")
                let socket = TestSocket(port: client.port, auth: .header(token))
                #expect(await socket.ready())
                let before = try await Self.upgrades(client, decided: "memory")
                let kid = try await harness.store.currentTokenKey(of: harness.app).kid
                let wrongSecret = JWTKeyCollection()
                await wrongSecret.add(hmac: HMACKey(key: SymmetricKey(size: .bits256)), digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid))
                struct Claims: JWTPayload {
                    var sub: SubjectClaim
                    var app: String
                    var iat: IssuedAtClaim
                    var exp: ExpirationClaim
                    var ep: String?
                    func verify(using algorithm: some JWTAlgorithm) async throws {}
                }
                let original = try #require(Data(base64URLEncoded: String(token.split(separator: ".")[1])))
                let payload = try JSONDecoder().decode(Claims.self, from: original)
                let forged = try await wrongSecret.sign(payload, kid: JWKIdentifier(string: kid))
                // Ana's signature over another user's claims.
                var asBen = payload
                asBen.sub = SubjectClaim(value: "ben")
                let pieces = token.split(separator: ".")
                let swapped = [String(pieces[0]), try JSONEncoder().encode(asBen).base64URLEncodedString(), String(pieces[2])].joined(separator: ".")

                #expect(await Self.upgradeStatus(client, token: forged) == 401)
                #expect(await Self.upgradeStatus(client, token: swapped) == 401)
                #expect(try await Self.upgrades(client, decided: "memory") == before)
                await socket.close()
            }
        }
    }

    @Test("A known user's token from a page the app does not allow is refused (403): a browser's Origin always goes to the router")
    func browserOriginIsStillChecked() async throws {
        try await TestHarness.with { harness in
            try await harness.run(.live) { client in
                let token = try await harness.token(for: "ana")
                let socket = TestSocket(port: client.port, auth: .header(token))
                #expect(await socket.ready())
                let before = try await Self.upgrades(client, decided: "memory")

                #expect(await Self.upgradeStatus(client, token: token, origin: "https://evil.example") == 403)
                #expect(await Self.upgradeStatus(client, token: token, origin: "ws://native-client, null") == 403)
                #expect(try await Self.upgrades(client, decided: "memory") == before)
                #expect(await Self.upgradeStatus(client, token: token, origin: "ws://native-client") == 101)
                await socket.close()
            }
        }
    }

    @Test("Upgrades take from the user's request budget: past it, the next is refused with 429")
    func upgradesTakeFromTheUserBudget() async throws {
        // The clock stands still, so no token comes back during the test: 1 a second, a burst of 3.
        try await TestHarness.with(clock: TestClock(Date()), configure: { $0.userRate = 1 }) { harness in
            let token = try await harness.token(for: "ana")
            try await harness.run(.live) { client in
                var statuses: [Int?] = []
                for _ in 0..<5 { statuses.append(await Self.upgradeStatus(client, token: token)) }

                #expect(statuses.prefix(3).allSatisfy { $0 == 101 }, "\(statuses)")
                #expect(statuses.suffix(2).allSatisfy { $0 == 429 }, "\(statuses)")
            }
        }
    }

    /// The status of an upgrade with `token` in `Authorization` (the connection is then dropped).
    private static func upgradeStatus(_ client: TestClient, token: String, origin: String? = nil) async -> Int? {
        guard let raw = try? RawHTTPConnection(port: client.port) else { return nil }
        var request = RawHTTPConnection.upgradeRequest(token: token)
        if let origin { request = request.replacingOccurrences(of: "Host: x\r\n", with: "Host: x\r\nOrigin: \(origin)\r\n") }
        raw.send(request)
        return await offPool { raw.status() }
    }

    private static func upgrades(_ client: TestClient, decided: String) async throws -> Int {
        let metrics = try await client.request(.get, "/metrics").text
        let line = metrics.split(separator: "\n").first { $0.hasPrefix(#"herald_realtime_upgrades_total{decided="\#(decided)"} "#) }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }.map { Int($0) } ?? 0
    }
}
