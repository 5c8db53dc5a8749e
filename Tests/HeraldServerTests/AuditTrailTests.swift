import Foundation
import GRDB
import HTTPTypes
import HeraldCore
@testable import HeraldServer
import HeraldStore
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Audit trail")
struct AuditTrailTests {
    @Test("Platform writes, exports and rejected keys are chained per app; reads by users are not recorded; pages follow `after`")
    func recordsWritesPerApp() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                #expect(try await client.request(.put, "/v1/users/eve", auth: harness.apiKey, body: #"{"name":"Eve"}"#).status == .created)
                #expect(try await client.request(.put, "/v1/settings", auth: harness.apiKey, body: #"{"retention":{"messageDays":30}}"#).status == .ok)
                #expect(try await client.request(.get, "/v1/users/eve", auth: harness.apiKey).status == .ok)
                #expect(try await client.request(.get, "/v1/users/eve/export", auth: harness.apiKey).status == .ok)
                #expect(try await client.request(.put, "/v1/users/zed", auth: harness.otherKey, body: "{}").status == .created)
                let wrongSecret = String(harness.apiKey.dropLast(4)) + "AAAA"
                #expect(try await client.request(.get, "/v1/users/eve", auth: wrongSecret).status == .unauthorized)
                #expect(try await client.request(.put, "/v1/users/bad id", auth: harness.apiKey, body: "{}").status != .created)
                await harness.parts.rejections.flush(all: true)

                let page = try await client.request(.get, "/v1/audit?limit=2", auth: harness.apiKey).decode(AuditPage.self)
                let rest = try await client.request(.get, "/v1/audit?after=\(page.next ?? 0)", auth: harness.apiKey).decode(AuditPage.self)
                let other = try await client.request(.get, "/v1/audit", auth: harness.otherKey).decode(AuditPage.self)
                let bad = try await client.request(.get, "/v1/audit?limit=0", auth: harness.apiKey)

                let events = page.events + rest.events
                #expect(page.events.count == 2 && page.next == page.events.last?.id)
                #expect(events.map(\.action) == ["PUT /v1/users/{userId}", "PUT /v1/settings", "GET /v1/users/{userId}/export", "credential.rejected"])
                #expect(events.map(\.seq) == [1, 2, 3, 4])
                #expect(events.first?.prevHash == String(repeating: "0", count: 64))
                #expect(zip(events, events.dropFirst()).allSatisfy { $1.prevHash == $0.hash }, "each entry links to the one before")
                #expect(events.allSatisfy { !$0.actor.contains(String(harness.apiKey.dropFirst(20))) }, "the secret is never recorded")
                #expect(other.events.map(\.action) == ["PUT /v1/users/{userId}"] && other.events[0].target == "/v1/users/zed")
                #expect(bad.status == .unprocessableContent)
            }
            #expect(try await harness.store.verifyAudit().checked == 5)
        }
    }

    /// Tampers with the SQLite file directly; the verifier it proves is the same on PostgreSQL.
    @Test(
        "verify names the first entry that was changed, removed or reordered; an untouched log verifies", .enabled(if: TestHarness.isSQLite),
        arguments: ["changed", "removed", "reordered"])
    func verifyFindsTampering(_ tampering: String) async throws {
        try await TestHarness.with { harness in
            for index in 0..<5 {
                try await harness.store.recordAudit(NewAuditEvent(chain: .app(harness.app), actor: "operator:test", action: "test", target: "t\(index)"))
            }
            let intact = try await harness.store.verifyAudit()
            #expect(intact.checked == 5 && intact.heads[harness.app.rawValue] != nil)

            let database = try DatabaseQueue(path: harness.directory.appendingPathComponent("herald.sqlite").path)
            try await database.write { db in
                switch tampering {
                case "changed": try db.execute(sql: "UPDATE auditEvent SET target = 'nothing to see' WHERE seq = 3")
                case "removed": try db.execute(sql: "DELETE FROM auditEvent WHERE seq = 3")
                default:
                    // Swap the places of entries 2 and 3.
                    try db.execute(sql: "UPDATE auditEvent SET id = -1 WHERE seq = 2")
                    try db.execute(sql: "UPDATE auditEvent SET id = 2 WHERE seq = 3")
                    try db.execute(sql: "UPDATE auditEvent SET id = 3 WHERE seq = 2")
                }
            }
            try await database.close()

            await #expect {
                try await harness.store.verifyAudit()
            } throws: { error in
                guard let problem = error as? AuditVerifier.Problem else { return false }
                return tampering == "changed" ? problem.seq == 3 && problem.reason.contains("changed") : problem.seq == (tampering == "removed" ? 4 : 3)
            }
        }
    }
}
