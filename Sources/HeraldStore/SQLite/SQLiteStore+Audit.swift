public import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func recordAudit(_ event: NewAuditEvent) async throws {
        try await auditWriter.submit(AuditWrite(event: event, at: now()))
    }

    /// Appends a batch of events, each linked to the head of its chain, in one transaction.
    static func commitAudit(_ batch: [AuditWrite], pool: SQLitePool, keys: KeyRing) async throws -> [Result<Void, any Error>] {
        let key = try keys.auditKey()
        try await pool.write { db in
            let maxID = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM auditEvent") ?? 0
            guard maxID < Int64.max - Int64(batch.count) else { throw SeqLimit.reached }
            var nextID = maxID + 1
            var linker = AuditChainLinker(key: key)
            let insert = try db.cachedStatement(
                sql: "INSERT INTO auditEvent (id, chain, seq, at, actor, action, target, prevHash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            for write in batch {
                let chain = write.event.chain.column
                if linker.needsHead(of: chain) {
                    let row = try Row.fetchOne(db, sql: "SELECT seq, hash FROM auditEvent WHERE chain = ? ORDER BY seq DESC LIMIT 1", arguments: [chain])
                    linker.start(chain, storedHead: try row.map { (seq: try $0.decode(forColumn: "seq"), hash: try $0.decode(forColumn: "hash")) })
                }
                let entry = try linker.link(write, id: nextID)
                try insert.execute(arguments: [
                    entry.id, entry.chain, entry.seq, entry.atMilliseconds, entry.actor, entry.action, entry.target, entry.prevHash, entry.hash,
                ])
                nextID += 1
            }
        }
        return batch.map { _ in .success(()) }
    }

    public func auditEvents(of app: AppID, after: Int64?, limit: Int) async throws -> [AuditEvent] {
        try await pool.read { db in
            try AuditEventRecord.fetchAll(
                db, sql: "SELECT * FROM auditEvent WHERE chain = ? AND id > ? ORDER BY id LIMIT ?", arguments: [app, after ?? 0, limit]
            ).map(\.event)
        }
    }

    public func verifyAudit() async throws -> (checked: Int, heads: [String: String]) {
        let key = try keys.auditKey()
        return try await pool.read { db in
            var verifier = AuditVerifier(key: key)
            let rows = try AuditEventRecord.fetchCursor(db, sql: "SELECT * FROM auditEvent ORDER BY id")
            while let row = try rows.next() { try verifier.check(row.verified) }
            return (verifier.checked, verifier.chainHeads)
        }
    }
}

/// One event waiting in the audit group commit.
struct AuditWrite: Sendable {
    var event: NewAuditEvent
    var at: Date
}
