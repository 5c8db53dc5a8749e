import Foundation
import GRDB
public import HeraldCore
import PostgresNIO

/// `herald store copy --from DIR --to URL`: moves an embedded store into PostgreSQL, for a business
/// that outgrows one machine.
///
/// Rows are copied as they are, sealed values included, and so are the wrapped keys: both stores use
/// the same tables (`PostgresMigrations`) and the same envelope (`KeyEnvelope`), so nothing is opened
/// or sealed again, and the PostgreSQL cluster runs with the data directory's master key. Ids, seqs,
/// positions and the audit chain's entries keep their values (sequences are moved past them), so
/// histories, cursors and `herald audit verify` carry over.
///
/// The caller holds the data directory's lock (no server writes meanwhile). The copy refuses a target
/// that already holds apps, and ends by comparing every table's row count on both sides; a copy that
/// fails midway leaves a partial target, to be dropped before trying again.
public enum StoreCopy {
    /// Parents before children, so the foreign keys hold at every insert.
    static let contentTables = [
        "app", "tokenKey", "user", "userTag", "userTokenEpoch", "channel", "channelMember", "message", "idempotencyKey", "signingKey", "appSettings", "template",
        "consentChange", "notification", "notificationContent", "inboxItem", "outbox", "device", "actionChallenge", "webhook", "webhookDelivery", "pushCredential",
        "pushDelivery", "auditEvent", "journey", "customerEvent", "journeyRun", "journeyStep", "fallbackDelivery", "fallbackClaim", "journeyDigest", "journeyDigestEntry",
        // Last: while it is empty the inbox triggers write no item events for the rows copied above.
        "journeyItemEvents",
    ]
    static let keyTables = ["meta", "appKey", "dataKey"]
    /// Columns SQLite keeps as 0/1 that PostgreSQL types as boolean.
    static let booleanColumns: Set<String> = ["consentChange.granted"]
    /// Sequences to move past the copied ids, by table and column.
    static let sequences = [("inboxItem", "position"), ("outbox", "id"), ("webhookDelivery", "id"), ("pushDelivery", "id"), ("auditEvent", "id"), ("fallbackDelivery", "id"), ("journeyDigestEntry", "position")]

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Rows per table on both sides after the copy (they are equal, or the copy threw).
    public struct Report: Sendable, Codable {
        public var tables: [String: Int]
        public var keys: [String: Int]
    }

    /// Copies the content database at `contentPath` and the key store at `keysPath` into `url` and
    /// `keysURL` (created if missing, when the user may create databases).
    public static func copy(contentPath: String, keysPath: String, to url: PostgresURL, keysURL: PostgresURL? = nil) async throws -> Report {
        let keysURL = keysURL ?? url.with(database: url.database + "_keys")
        var readOnly = Configuration()
        readOnly.readonly = true
        let content = try DatabaseQueue(path: contentPath, configuration: readOnly)
        let keys = try DatabaseQueue(path: keysPath, configuration: readOnly)
        let target = PostgresDatabase(url, maximumConnections: 2)
        let keyTarget = PostgresDatabase(keysURL, maximumConnections: 2)
        do {
            try? await PostgresAdmin.createDatabases(for: url, via: url)
            try await PostgresMigrations.migrate(target)
            try await PostgresMigrations.migrate(keyTarget, PostgresMigrations.keys)
            guard try await target.value("SELECT count(*) FROM app", as: Int.self) == 0,
                try await keyTarget.value("SELECT count(*) FROM appKey", as: Int.self) == 0
            else {
                throw Failure(description: "\(url) already holds apps: copy into new, empty databases")
            }
            let copiedKeys = try await copy(keyTables, from: keys, to: keyTarget)
            let copiedContent = try await copy(contentTables, from: content, to: target)
            for (table, column) in sequences {
                try await target.execute(
                    PostgresQuery(
                        unsafeSQL: "SELECT setval(pg_get_serial_sequence('\(table.lowercased())', '\(column.lowercased())'), COALESCE(MAX(\(column)), 0) + 1, false) FROM \(table)"))
            }
            try await verify(copiedContent, on: target)
            try await verify(copiedKeys, on: keyTarget)
            try content.close()
            try keys.close()
            await target.close()
            await keyTarget.close()
            return Report(tables: copiedContent, keys: copiedKeys)
        } catch {
            try? content.close()
            try? keys.close()
            await target.close()
            await keyTarget.close()
            throw error
        }
    }

    /// Copies each table in chunks of 5,000 rows in rowid order (the caller holds the data directory's
    /// lock, so nothing writes to it meanwhile), each chunk in one transaction, many rows per INSERT.
    private static func copy(_ tables: [String], from source: DatabaseQueue, to target: PostgresDatabase) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in tables {
            let columns = try await source.read { db in try db.columns(in: table).map(\.name) }
            var after: Int64 = Int64.min
            var copied = 0
            while true {
                let (rows, last) = try await source.read { [after] db -> ([[DatabaseValue]], Int64?) in
                    let fetched = try Row.fetchAll(
                        db, sql: "SELECT rowid AS copyRowID, * FROM \(quoted(table)) WHERE rowid > ? ORDER BY rowid LIMIT 5000", arguments: [after])
                    return (fetched.map { row in columns.map { row[$0] as DatabaseValue } }, fetched.last.map { $0["copyRowID"] as Int64 })
                }
                guard let last, !rows.isEmpty else { break }
                try await insert(rows, into: table, columns: columns, on: target)
                copied += rows.count
                after = last
            }
            counts[table] = copied
        }
        return counts
    }

    private static func insert(_ rows: [[DatabaseValue]], into table: String, columns: [String], on target: PostgresDatabase) async throws {
        // The embedded outbox keeps sealed payloads as blobs in `payload`; here they have a column of their own.
        let isOutbox = table == "outbox"
        let targetColumns = isOutbox ? columns + ["sealedPayload"] : columns
        let perStatement = max(1, 30_000 / targetColumns.count)
        let prepared: [[DatabaseValue]] = rows.map { row in
            guard isOutbox, let index = columns.firstIndex(of: "payload") else { return row }
            var row = row
            if case .blob = row[index].storage {
                row.append(row[index])
                row[index] = .null
            } else {
                row.append(.null)
            }
            return row
        }
        try await target.transaction { connection in
            for start in stride(from: 0, to: prepared.count, by: perStatement) {
                let chunk = prepared[start..<min(start + perStatement, prepared.count)]
                var bindings = PostgresBindings(capacity: chunk.count * targetColumns.count)
                var tuples: [String] = []
                var parameter = 0
                for row in chunk {
                    var placeholders: [String] = []
                    for (index, value) in row.enumerated() {
                        parameter += 1
                        placeholders.append("$\(parameter)")
                        try append(value, as: "\(table).\(targetColumns[index])", to: &bindings)
                    }
                    tuples.append("(" + placeholders.joined(separator: ",") + ")")
                }
                let sql = "INSERT INTO \(quoted(table)) (\(targetColumns.joined(separator: ", "))) VALUES " + tuples.joined(separator: ",")
                try await connection.execute(PostgresQuery(unsafeSQL: sql, binds: bindings))
            }
        }
    }

    private static func append(_ value: DatabaseValue, as column: String, to bindings: inout PostgresBindings) throws {
        switch value.storage {
        case .null: bindings.appendNull()
        case .int64(let integer):
            if booleanColumns.contains(column) { bindings.append(integer != 0) } else { bindings.append(integer) }
        case .double(let double): bindings.append(double)
        case .string(let text): bindings.append(text)
        case .blob(let data): try bindings.append(data)
        }
    }

    private static func verify(_ counts: [String: Int], on target: PostgresDatabase) async throws {
        for (table, expected) in counts {
            let copied = try await target.value(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(quoted(table))"), as: Int.self) ?? -1
            guard copied == expected else { throw Failure(description: "\(table): \(expected) rows in the embedded store, \(copied) copied") }
        }
    }

    private static func quoted(_ table: String) -> String { table == "user" ? "\"user\"" : table }
}
