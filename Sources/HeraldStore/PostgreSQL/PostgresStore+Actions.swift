public import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {
    public func createChallenge(_ challenge: String, item: InboxItemID, action: String, user: UserID, app: AppID, expiresAt: Date) async throws {
        let now = nowMilliseconds()
        try await database.transaction { connection in
            // Spent and expired challenges are only kept until they can no longer matter.
            try await connection.execute("DELETE FROM actionChallenge WHERE expiresAt < \(now - 86_400_000)")
            try await connection.execute(
                """
                INSERT INTO actionChallenge (challenge, appID, userID, itemID, actionID, expiresAt)
                VALUES (\(challenge), \(app), \(user), \(item), \(action), \(WireTime.milliseconds(expiresAt)))
                """)
        }
    }

    /// The row is read under its lock (`FOR UPDATE`) and marked used in the same transaction, so of two
    /// nodes presenting the same challenge at once the second waits for the first's commit and sees it
    /// used. (A self-join `UPDATE … FROM … RETURNING` read the old row without that guarantee under READ
    /// COMMITTED: both could see it unused.)
    public func consumeChallenge(_ challenge: String, item: InboxItemID, action: String, user: UserID, app: AppID) async throws -> ChallengeOutcome {
        let now = nowMilliseconds()
        return try await database.transaction { connection in
            guard let row = try await connection.rows(
                "SELECT appID, userID, itemID, actionID, usedAt, expiresAt FROM actionChallenge WHERE challenge = \(challenge) FOR UPDATE"
            ).first else { return .unknown }
            try await connection.execute("UPDATE actionChallenge SET usedAt = COALESCE(usedAt, \(now)) WHERE challenge = \(challenge)")
            let (rowApp, rowUser, rowItem, rowAction, usedAt, expiresAt) = try row.decode((String, String, String, String, Int64?, Int64).self)
            return ChallengeOutcome(
                issuedTo: (rowApp, rowUser, rowItem, rowAction), usedAt: usedAt, expiresAt: expiresAt, presentedBy: (app, user, item, action), now: now)
        }
    }

    public func recordAction(
        _ performed: InboxItem.PerformedAction, on item: InboxItemID, of user: UserID, in app: AppID, effects: [OutboxEntry]
    ) async throws -> (item: InboxItem, isFirst: Bool) {
        guard let key = try await keys.key(.user(user), in: app) else { throw HeraldError.notFound(resource: "inbox item") }
        let input = try performed.input.map { try key.seal(json: $0, context: SealingContext.inboxInput(item)) }
        let actedAt = WireTime.milliseconds(performed.performedAt)
        let now = nowMilliseconds()
        let rows = try await sealedOutboxRows(effects, app: app)
        return try await database.transaction { connection in
            guard let record = try await Self.itemRecord(item, of: user, in: app, on: connection, lock: true) else {
                throw HeraldError.notFound(resource: "inbox item")
            }
            let shared = try await sharedContents(of: [record], on: connection)
            if record.actedAt != nil { return (try await openedItem(record, shared: shared), false) }
            let updated = try await connection.rows(
                """
                UPDATE inboxItem SET actionID = \(performed.actionId), sealedInput = \(input), actedAt = \(actedAt),
                    readAt = COALESCE(readAt, \(actedAt)), deliveredAt = COALESCE(deliveredAt, \(actedAt))
                WHERE position = \(record.position!) RETURNING \(unescaped: InboxItemRecord.postgresColumns)
                """
            ).first!
            try await Self.insertOutbox(rows, app: app, now: now, on: connection)
            return (try await openedItem(InboxItemRecord(postgres: updated), shared: shared), true)
        }
    }

    func sealedOutboxRows(_ entries: [OutboxEntry], app: AppID) async throws -> [OutboxRow] {
        guard !entries.isEmpty else { return [] }
        return try OutboxRow.rows(entries, app: app, appKey: try await keys.key(.app, in: app))
    }

    static func insertOutbox(_ rows: [OutboxRow], app: AppID, now: Int64, on connection: PostgresConnection) async throws {
        for row in rows {
            let entry = row.entry
            try await connection.execute(
                """
                INSERT INTO outbox (appID, kind, userID, subjectID, payload, sealedPayload, availableAt, createdAt)
                VALUES (\(app), \(entry.kind), \(entry.user), \(entry.subject), \(row.sealed == nil ? entry.payload : nil),
                    \(row.sealed), \(WireTime.milliseconds(entry.availableAt)), \(now))
                """)
        }
    }

    public func enqueue(_ entries: [OutboxEntry], app: AppID) async throws {
        let now = nowMilliseconds()
        let rows = try await sealedOutboxRows(entries, app: app)
        try await database.transaction { connection in try await Self.insertOutbox(rows, app: app, now: now, on: connection) }
    }

    /// `SKIP LOCKED`: nodes claiming at once each take other rows. A claim moves the row's `availableAt`
    /// a lease ahead, so a node that dies mid-job leaves it to be claimed again when the lease runs out.
    public func claimOutbox(kinds: [OutboxKind], now: Date, lease: TimeInterval, limit: Int) async throws -> [OutboxJob] {
        let nowMilliseconds = WireTime.milliseconds(now)
        let leaseUntil = WireTime.milliseconds(now.addingTimeInterval(lease))
        let rows = try await database.rows(
            """
            UPDATE outbox SET availableAt = \(leaseUntil)
            WHERE id IN (
                SELECT id FROM outbox WHERE kind = ANY(\(kinds.map(\.rawValue))) AND availableAt <= \(nowMilliseconds)
                ORDER BY availableAt, id LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
            RETURNING id, appID, kind, userID, subjectID, payload, sealedPayload, attempts, createdAt
            """)
        var jobs: [OutboxJob] = []
        for row in rows {
            let (id, app, kind, user, subject, payload, sealed, attempts, createdAt) = try row.decode(
                (Int64, AppID, OutboxKind, UserID?, String?, String?, Data?, Int64, Int64).self)
            let appKey = sealed == nil ? nil : try await keys.key(.app, in: app)
            if let job = try OutboxRow.job(
                id: id, app: app, kind: kind, user: user, subject: subject, clear: payload, sealed: sealed, attempts: Int(attempts), createdAt: createdAt,
                appKey: appKey)
            {
                jobs.append(job)
            }
        }
        return jobs.sorted { $0.id < $1.id }
    }

    public func outboxBacklog() async throws -> [OutboxKind: Int] {
        try await database.rows("SELECT kind, count(*) FROM outbox GROUP BY kind").reduce(into: [:]) { backlog, row in
            let (kind, rows) = try row.decode((OutboxKind, Int).self)
            backlog[kind] = rows
        }
    }

    public func completeOutbox(_ id: Int64) async throws {
        try await database.execute("DELETE FROM outbox WHERE id = \(id)")
    }

    public func completeOutbox(_ ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        try await database.execute("DELETE FROM outbox WHERE id = ANY(\(ids))")
    }

    public func retryOutbox(_ id: Int64, at: Date, error: String, payload: String?) async throws {
        try await database.execute(
            """
            UPDATE outbox SET attempts = attempts + 1, availableAt = \(WireTime.milliseconds(at)), lastError = \(OutboxRow.storedError(error)),
                payload = COALESCE(\(payload), payload) WHERE id = \(id)
            """)
    }
}
