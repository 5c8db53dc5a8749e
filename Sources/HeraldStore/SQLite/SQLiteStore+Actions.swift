public import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func createChallenge(_ challenge: String, item: InboxItemID, action: String, user: UserID, app: AppID, expiresAt: Date) async throws {
        let now = nowMilliseconds()
        try await pool.write { db in
            // Spent and expired challenges are only kept until they can no longer matter.
            try db.execute(sql: "DELETE FROM actionChallenge WHERE expiresAt < ?", arguments: [now - 86_400_000])
            try db.execute(
                sql: "INSERT INTO actionChallenge (challenge, appID, userID, itemID, actionID, expiresAt) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [challenge, app.rawValue, user.rawValue, item.rawValue, action, WireTime.milliseconds(expiresAt)])
        }
    }

    public func consumeChallenge(_ challenge: String, item: InboxItemID, action: String, user: UserID, app: AppID) async throws -> ChallengeOutcome {
        let now = nowMilliseconds()
        return try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM actionChallenge WHERE challenge = ?", arguments: [challenge]) else { return .unknown }
            try db.execute(sql: "UPDATE actionChallenge SET usedAt = COALESCE(usedAt, ?) WHERE challenge = ?", arguments: [now, challenge])
            return ChallengeOutcome(
                issuedTo: (try row.decode(forColumn: "appID"), try row.decode(forColumn: "userID"), try row.decode(forColumn: "itemID"), try row.decode(forColumn: "actionID")), usedAt: try row.decode(forColumn: "usedAt"), expiresAt: try row.decode(forColumn: "expiresAt"),
                presentedBy: (app, user, item, action), now: now)
        }
    }

    public func recordAction(
        _ performed: InboxItem.PerformedAction, on item: InboxItemID, of user: UserID, in app: AppID, effects: [OutboxEntry]
    ) async throws -> (item: InboxItem, isFirst: Bool) {
        guard let key = try keys.key(.user(user), in: app) else { throw HeraldError.notFound(resource: "inbox item") }
        let input = try performed.input.map { try key.seal(json: $0, context: SealingContext.inboxInput(item)) }
        let actedAt = WireTime.milliseconds(performed.performedAt)
        let now = nowMilliseconds()
        return try await pool.write { db in
            guard let record = try Self.itemRecord(item, of: user, in: app, db: db) else { throw HeraldError.notFound(resource: "inbox item") }
            let shared = try sharedContents(of: [record], db: db)
            if record.actedAt != nil { return (try record.item(keys: keys, shared: shared), false) }
            try db.execute(
                sql: """
                    UPDATE inboxItem SET actionID = ?, sealedInput = ?, actedAt = ?, readAt = COALESCE(readAt, ?), deliveredAt = COALESCE(deliveredAt, ?)
                    WHERE position = ?
                    """, arguments: [performed.actionId, input, actedAt, actedAt, actedAt, record.position])
            try Self.insert(effects, app: app, now: now, keys: keys, db: db)
            return (try InboxItemRecord.fetchOne(db, key: record.position)!.item(keys: keys, shared: shared), true)
        }
    }

    /// Writes outbox rows (`OutboxRow`); SQLite keeps a sealed payload as a blob in the one `payload` column.
    static func insert(_ entries: [OutboxEntry], app: AppID, now: Int64, keys: KeyRing, db: Database) throws {
        guard !entries.isEmpty else { return }
        for row in try OutboxRow.rows(entries, app: app, appKey: try keys.key(.app, in: app)) {
            let entry = row.entry
            try db.execute(
                sql: "INSERT INTO outbox (appID, kind, userID, subjectID, payload, availableAt, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [app, entry.kind, entry.user, entry.subject, row.sealed?.databaseValue ?? entry.payload.databaseValue,
                    WireTime.milliseconds(entry.availableAt), now])
        }
    }

    public func enqueue(_ entries: [OutboxEntry], app: AppID) async throws {
        let now = nowMilliseconds()
        try await pool.write { [keys] db in try Self.insert(entries, app: app, now: now, keys: keys, db: db) }
    }

    public func claimOutbox(kinds: [OutboxKind], now: Date, lease: TimeInterval, limit: Int) async throws -> [OutboxJob] {
        let nowMilliseconds = WireTime.milliseconds(now)
        let leaseUntil = WireTime.milliseconds(now.addingTimeInterval(lease))
        return try await pool.write { db in
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT * FROM outbox WHERE kind IN (\(databaseQuestionMarks(count: kinds.count))) AND availableAt <= ? ORDER BY availableAt, id LIMIT ?",
                arguments: StatementArguments(kinds.map(\.rawValue)) + [nowMilliseconds, limit])
            var jobs: [OutboxJob] = []
            for row in rows {
                let id: Int64 = try row.decode(forColumn: "id")
                let (app, kind): (AppID, OutboxKind) = (try row.decode(forColumn: "appID"), try row.decode(forColumn: "kind"))
                try db.execute(sql: "UPDATE outbox SET availableAt = ? WHERE id = ?", arguments: [leaseUntil, id])
                let payload: DatabaseValue = try row.decode(forColumn: "payload")
                let sealed: Data? = if case .blob(let data) = payload.storage { data } else { nil }
                if let job = try OutboxRow.job(
                    id: id, app: app, kind: kind, user: try row.decode(forColumn: "userID"), subject: try row.decode(forColumn: "subjectID"),
                    clear: sealed == nil ? try row.decode(forColumn: "payload") : nil, sealed: sealed, attempts: try row.decode(forColumn: "attempts"),
                    createdAt: try row.decode(forColumn: "createdAt"), appKey: try keys.key(.app, in: app))
                {
                    jobs.append(job)
                }
            }
            return jobs
        }
    }

    public func outboxBacklog() async throws -> [OutboxKind: Int] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT kind, count(*) AS rows FROM outbox GROUP BY kind").reduce(into: [:]) { backlog, row in
                backlog[try row.decode(OutboxKind.self, forColumn: "kind")] = try row.decode(Int.self, forColumn: "rows")
            }
        }
    }

    public func completeOutbox(_ id: Int64) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM outbox WHERE id = ?", arguments: [id]) }
    }

    public func completeOutbox(_ ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        try await pool.write { db in
            for start in stride(from: 0, to: ids.count, by: 500) {
                let chunk = Array(ids[start..<min(start + 500, ids.count)])
                try db.execute(sql: "DELETE FROM outbox WHERE id IN (\(databaseQuestionMarks(count: chunk.count)))", arguments: StatementArguments(chunk))
            }
        }
    }

    public func retryOutbox(_ id: Int64, at: Date, error: String, payload: String?) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE outbox SET attempts = attempts + 1, availableAt = ?, lastError = ?, payload = coalesce(?, payload) WHERE id = ?",
                arguments: [WireTime.milliseconds(at), OutboxRow.storedError(error), payload, id])
        }
    }
}
