import Foundation
import HTTPTypes
import HeraldCore
@testable import HeraldServer
import HeraldStore
import HeraldTestSupport
import Testing

/// An anonymous client guessing API keys or tokens: every guess used to be an fsync'd audit insert on
/// the writer that carries the real audit trail, with no limit.
@Suite("Attacker: an anonymous client guessing credentials", .serialized)
struct CredentialGuessingTests {
    private static func configure(_ configuration: inout ServerConfiguration) {
        configuration.clientAddressHeader = "X-Forwarded-For"
        configuration.credentialFailures.burst = 5
        configuration.credentialFailures.perMinute = 0.001
    }

    @Test("After its budget of failures, an address gets 429 before its credentials are looked at; other addresses go on")
    func limitPerAddress() async throws {
        try await TestHarness.with(configure: Self.configure) { harness in
            try await harness.run { client in
                let attacker: HTTPFields = [HTTPField.Name("X-Forwarded-For")!: "10.0.0.1, 203.0.113.7"]
                let bank: HTTPFields = [HTTPField.Name("X-Forwarded-For")!: "198.51.100.1"]
                let wrongSecret = String(harness.apiKey.dropLast(4)) + "AAAA"
                var statuses: [Int] = []
                for _ in 0..<8 { statuses.append(Int(try await client.request(.get, "/v1/users/ana", auth: wrongSecret, headers: attacker).status.code)) }
                let attackerWithTheRealKey = try await client.request(.get, "/v1/users/ana", auth: harness.apiKey, headers: attacker)
                let attackerWithAToken = try await client.request(.get, "/v1/me/inbox", auth: "not.a.token", headers: attacker)
                let theBank = try await client.request(.put, "/v1/users/ana", auth: harness.apiKey, body: "{}", headers: bank)

                #expect(statuses == [401, 401, 401, 401, 401, 429, 429, 429])
                #expect(attackerWithTheRealKey.status == .tooManyRequests, "refused before the key is checked")
                #expect(attackerWithTheRealKey.headers[.retryAfter] != nil)
                #expect(attackerWithAToken.status == .tooManyRequests)
                #expect(theBank.status == .created || theBank.status == .ok)
            }
        }
    }

    @Test("Rejections are one audit event per key and minute, with the count, written apart from the request")
    func aggregatedAudit() async throws {
        let clock = TestClock("2026-12-06T10:00:10Z")
        try await TestHarness.with(clock: clock, configure: {
            Self.configure(&$0)
            $0.credentialFailures.burst = 100
        }) { harness in
            try await harness.run { client in
                let wrongSecret = String(harness.apiKey.dropLast(4)) + "AAAA"
                for index in 0..<30 {
                    let headers: HTTPFields = [HTTPField.Name("X-Forwarded-For")!: "203.0.113.\(index)"]
                    #expect(try await client.request(.get, "/v1/users/ana", auth: wrongSecret, headers: headers).status == .unauthorized)
                }
                let beforeFlush = try await client.request(.get, "/v1/audit", auth: harness.apiKey).decode(AuditPage.self)
                await harness.parts.rejections.flush(all: false)
                let sameMinute = try await client.request(.get, "/v1/audit", auth: harness.apiKey).decode(AuditPage.self)
                clock.advance(by: 60)
                await harness.parts.rejections.flush(all: false)
                let after = try await client.request(.get, "/v1/audit", auth: harness.apiKey).decode(AuditPage.self)

                #expect(beforeFlush.events.isEmpty, "a rejection costs no write on the request's path")
                #expect(sameMinute.events.isEmpty, "the minute is not over")
                #expect(after.events.map(\.action) == ["credential.rejected"])
                #expect(after.events.first?.target.contains("30 in the minute from 2026-12-06T10:00:00") == true, "\(after.events)")
                #expect(after.events.first?.target.contains("last from 203.0.113.29") == true)
            }
        }
    }

    @Test("Failed auth frames count too: past the budget, the realtime gateway closes with 4429 before checking the token")
    func realtimeAuthFrames() async throws {
        try await TestHarness.with(configure: Self.configure) { harness in
            try await harness.run(.live) { client in
                var codes: [Int?] = []
                for _ in 0..<6 { codes.append(await TestSocket(port: client.port, auth: .frame("not.a.token")).closeCode()) }
                let good = TestSocket(port: client.port, auth: .frame(try await harness.token(for: "ana")))

                #expect(codes == [4401, 4401, 4401, 4401, 4401, 4429])
                #expect(await good.closeCode() == 4429, "this address is refused, even with a good token, until its budget refills")
            }
        }
    }
}
