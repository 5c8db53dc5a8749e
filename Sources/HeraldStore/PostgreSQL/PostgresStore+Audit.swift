public import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {
    public func recordAudit(_ event: NewAuditEvent) async throws {
        try await auditWriter.submit(AuditWrite(event: event, at: now()))
    }

    /// Appends a batch of events, each linked to the head of its chain, in one transaction.
    ///
    /// Each chain the batch touches is locked first (advisory locks, in chain order), so nodes appending
    /// to one chain at once take turns and every entry links to the one committed before it. An entry's
    /// id comes from the table's sequence under that lock, so ids grow along each chain; they may have
    /// gaps (a rolled-back batch), which the verifier allows.
    static func commitAudit(_ batch: [AuditWrite], database: PostgresDatabase, keys: PostgresKeyRing) async throws -> [Result<Void, any Error>] {
        let key = try await keys.auditKey()
        let chains = Set(batch.map(\.event.chain.column)).sorted()
        try await database.uncancellableTransaction { connection in
            for chain in chains {
                try await connection.execute("SELECT pg_advisory_xact_lock(hashtextextended(\("audit|" + chain), 0))")
            }
            var linker = AuditChainLinker(key: key)
            for write in batch {
                let chain = write.event.chain.column
                if linker.needsHead(of: chain) {
                    let stored = try await connection.rows("SELECT seq, hash FROM auditEvent WHERE chain = \(chain) ORDER BY seq DESC LIMIT 1").first
                        .map { try $0.decode((Int64, Data).self) }
                    linker.start(chain, storedHead: stored.map { (seq: $0.0, hash: $0.1) })
                }
                guard let id = try await connection.value("SELECT nextval('auditevent_id_seq')", as: Int64.self) else { throw StoreCorruption(table: "auditEvent", id: "nextval") }
                let entry = try linker.link(write, id: id)
                try await connection.execute(
                    """
                    INSERT INTO auditEvent (id, chain, seq, at, actor, action, target, prevHash, hash)
                    VALUES (\(entry.id), \(entry.chain), \(entry.seq), \(entry.atMilliseconds), \(entry.actor), \(entry.action), \(entry.target),
                        \(entry.prevHash), \(entry.hash))
                    """)
            }
        }
        return batch.map { _ in .success(()) }
    }

    public func auditEvents(of app: AppID, after: Int64?, limit: Int) async throws -> [AuditEvent] {
        try await database.rows(
            """
            SELECT \(unescaped: AuditEventRecord.columns) FROM auditEvent WHERE chain = \(app) AND id > \(after ?? 0) ORDER BY id LIMIT \(Int64(limit))
            """
        ).map { try AuditEventRecord(postgres: $0).event }
    }

    /// Streams every entry in id order (rows are decoded as they arrive, not collected first).
    public func verifyAudit() async throws -> (checked: Int, heads: [String: String]) {
        let key = try await keys.auditKey()
        var verifier = AuditVerifier(key: key)
        for try await row in try await database.client.query("SELECT \(unescaped: AuditEventRecord.columns) FROM auditEvent ORDER BY id") {
            try verifier.check(try AuditEventRecord(postgres: row).verified)
        }
        return (verifier.checked, verifier.chainHeads)
    }
}
