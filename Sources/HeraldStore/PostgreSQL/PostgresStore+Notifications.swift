public import Foundation
public import HeraldCore
import NIOCore
import PostgresNIO

extension PostgresStore {
    public func createNotification(
        _ notification: OutgoingNotification, idempotency: IdempotencyKey?
    ) async throws -> (notification: OutgoingNotification, isReplay: Bool) {
        let appKey = try await keys.existingOrNewKey(.app, in: notification.app)
        let record = try NotificationRecord(notification, key: appKey)
        return try await database.transaction { connection in
            if let key = idempotency {
                // Claimed first: the same key through another node waits for that node's commit, then replays.
                let fingerprint = key.fingerprint(appKey: appKey)
                // The sweeper may delete the row that made the INSERT do nothing before the SELECT sees it:
                // then the INSERT is tried again (it then succeeds, or meets a newer claim).
                while true {
                    let claimed = try await connection.rows(
                        """
                        INSERT INTO idempotencyKey (appID, scope, key, fingerprint, resultID, createdAt, userID)
                        VALUES (\(record.appID), \(key.scope), \(key.key), \(fingerprint), \(record.id), \(record.createdAt), \(key.user))
                        ON CONFLICT DO NOTHING RETURNING 1
                        """)
                    if !claimed.isEmpty { break }
                    guard
                        let (stored, resultID) = try await connection.rows(
                            "SELECT fingerprint, resultID FROM idempotencyKey WHERE appID = \(record.appID) AND scope = \(key.scope) AND key = \(key.key)"
                        ).first?.decode((Data, String).self)
                    else { continue }
                    if key.requiresSameRequest, !key.matches(stored, appKey: appKey) {
                        throw IdempotencyKey.conflict
                    }
                    if let first = try await Self.notificationRecord(resultID, app: notification.app, on: connection) {
                        return (try first.notification(key: appKey), true)
                    }
                    // The first notification is gone (its app data was expired): the key is taken over, as
                    // a new key (its age, for the sweeper, and its user, for erasure, are the new send's).
                    try await connection.execute(
                        """
                        UPDATE idempotencyKey SET resultID = \(record.id), fingerprint = \(fingerprint), createdAt = \(record.createdAt), userID = \(key.user)
                        WHERE appID = \(record.appID) AND scope = \(key.scope) AND key = \(key.key)
                        """)
                    break
                }
            }
            try await Self.insert(record, on: connection)
            return (notification, false)
        }
    }

    private static func insert(_ record: NotificationRecord, on connection: PostgresConnection) async throws {
        try await connection.execute(
            """
            INSERT INTO notification (id, appID, category, templateKey, templateVersion, sealed, audience, sendAt, expiresAt, status, audienceSize,
                leaseUntil, createdAt, completedAt)
            VALUES (\(record.id), \(record.appID), \(record.category), \(record.templateKey), \(record.templateVersion.map(Int64.init)), \(record.sealed),
                \(record.audience), \(record.sendAt), \(record.expiresAt), \(record.status), \(record.audienceSize.map(Int64.init)), \(record.leaseUntil),
                \(record.createdAt), \(record.completedAt))
            """)
    }

    static func notificationRecord(_ id: String, app: AppID, on runner: some PostgresQueryRunner) async throws -> NotificationRecord? {
        try await runner.rows(
            "SELECT \(unescaped: NotificationRecord.postgresColumns) FROM notification WHERE id = \(id) AND appID = \(app)"
        ).first.map(NotificationRecord.init(postgres:))
    }

    public func notification(_ id: NotificationID, in app: AppID) async throws -> OutgoingNotification? {
        guard let record = try await Self.notificationRecord(id.rawValue, app: app, on: database) else { return nil }
        return try record.notification(key: try await keys.key(.app, in: app))
    }

    public func notificationReport(_ id: NotificationID, in app: AppID) async throws -> NotificationReport? {
        guard let record = try await Self.notificationRecord(id.rawValue, app: app, on: database) else { return nil }
        let (recipients, delivered, read, acted) = try await database.rows(
            "SELECT count(*), count(deliveredAt), count(readAt), count(actedAt) FROM inboxItem WHERE notificationID = \(record.id)"
        ).first!.decode((Int, Int, Int, Int).self)
        return record.report(recipients: recipients, delivered: delivered, read: read, acted: acted)
    }

    /// `SKIP LOCKED`: nodes claiming at once each take other notifications, never the same one.
    public func claimDueNotifications(now: Date, lease: TimeInterval, limit: Int) async throws -> [OutgoingNotification] {
        let nowMilliseconds = WireTime.milliseconds(now)
        let leaseUntil = WireTime.milliseconds(now.addingTimeInterval(lease))
        let records = try await database.rows(
            """
            UPDATE notification SET status = 'sending', leaseUntil = \(leaseUntil)
            WHERE id IN (
                SELECT id FROM notification
                WHERE (status = 'scheduled' AND sendAt <= \(nowMilliseconds)) OR (status = 'sending' AND (leaseUntil IS NULL OR leaseUntil <= \(nowMilliseconds)))
                ORDER BY createdAt LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
            RETURNING \(unescaped: NotificationRecord.postgresColumns)
            """
        ).map(NotificationRecord.init(postgres:)).sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        var claimed: [OutgoingNotification] = []
        for record in records {
            claimed.append(try record.notification(key: try await keys.key(.app, in: record.appID)))
        }
        return claimed
    }

    public func audience(of notification: OutgoingNotification) async throws -> [Recipient] {
        switch notification.audience {
        case .users(let ids): try await recipients(ids, in: notification.app)
        case .segment(let segment): try await recipients(in: segment, app: notification.app)
        }
    }

    public func recipientsWithItems(of notification: NotificationID) async throws -> Set<UserID> {
        Set(try await database.values("SELECT userID FROM inboxItem WHERE notificationID = \(notification)", as: UserID.self))
    }

    public func insertInboxItems(_ items: [InboxItem], app: AppID, now: Date) async throws {
        let nowMilliseconds = WireTime.milliseconds(now)
        // Each item is sealed with its recipient's key; a recipient erased meanwhile gets nothing.
        let recipientKeys = try await keys.keys(of: items.map(\.recipient), in: app)
        let records = try items.compactMap { item -> InboxItemRecord? in
            guard let key = recipientKeys[item.recipient] else { return nil }
            let created = WireTime.milliseconds(item.createdAt)
            return try InboxItemRecord(item, app: app, releasedAt: created <= nowMilliseconds ? nowMilliseconds : nil, key: key)
        }
        guard !records.isEmpty else { return }
        let pushGrace = Int64(OutboxKind.pushGrace * 1000)
        try await database.transaction { connection in
            // One statement for the items and one for their pushes, whatever the batch's size; a recipient
            // who already has an item of this notification (a resumed fan-out) is skipped by the constraint.
            let inserted = try await connection.values(
                """
                INSERT INTO inboxItem (id, appID, userID, notificationID, category, sealed, createdAt, releasedAt, expiresAt)
                SELECT id, \(app), userID, notificationID, category, sealed, createdAt, NULLIF(releasedAt, -1), NULLIF(expiresAt, -1)
                FROM unnest(\(records.map(\.id))::text[], \(records.map(\.userID))::text[], \(records.map(\.notificationID))::text[],
                    \(records.map(\.category))::text[], \(records.map { ByteBuffer(bytes: $0.sealed ?? Data()) })::bytea[], \(records.map(\.createdAt))::bigint[],
                    \(records.map { $0.releasedAt ?? -1 })::bigint[], \(records.map { $0.expiresAt ?? -1 })::bigint[])
                    AS item(id, userID, notificationID, category, sealed, createdAt, releasedAt, expiresAt)
                ON CONFLICT DO NOTHING RETURNING id
                """, as: InboxItemID.self)
            let insertedIDs = Set(inserted)
            let pushes = records.filter { insertedIDs.contains($0.id) }
            guard !pushes.isEmpty else { return }
            try await connection.execute(
                """
                INSERT INTO outbox (appID, kind, userID, subjectID, availableAt, createdAt)
                SELECT \(app), \(OutboxKind.push), userID, subjectID, availableAt, \(nowMilliseconds)
                FROM unnest(\(pushes.map(\.userID))::text[], \(pushes.map(\.id))::text[], \(pushes.map { $0.createdAt + pushGrace })::bigint[])
                    AS push(userID, subjectID, availableAt)
                """)
        }
    }

    public func markDelivered(_ items: [InboxItemID], app: AppID) async throws {
        guard !items.isEmpty else { return }
        let time = nowMilliseconds()
        try await database.transaction { connection in try await Self.markDelivered(items, app: app, at: time, on: connection) }
    }

    /// Sets `deliveredAt` once and drops the pushes the items no longer need.
    static func markDelivered(_ ids: [InboxItemID], app: AppID, at time: Int64, on connection: PostgresConnection) async throws {
        guard !ids.isEmpty else { return }
        try await connection.execute("UPDATE inboxItem SET deliveredAt = \(time) WHERE appID = \(app) AND deliveredAt IS NULL AND id = ANY(\(ids))")
        try await connection.execute("DELETE FROM outbox WHERE kind = \(OutboxKind.push) AND subjectID = ANY(\(ids))")
    }

    public func failNotification(_ id: NotificationID) async throws {
        try await database.execute(
            "UPDATE notification SET status = 'failed', completedAt = \(nowMilliseconds()), leaseUntil = NULL WHERE id = \(id) AND status <> 'sent'")
    }

    public func completeNotification(_ id: NotificationID, audienceSize: Int, effects: [OutboxEntry]) async throws {
        let time = nowMilliseconds()
        guard let appID = try await database.value("SELECT appID FROM notification WHERE id = \(id)", as: AppID.self) else { return }
        let rows = try await sealedOutboxRows(effects, app: appID)
        try await database.transaction { connection in
            let completed = try await connection.rows(
                """
                UPDATE notification SET status = 'sent', audienceSize = \(Int64(audienceSize)), completedAt = \(time), leaseUntil = NULL
                WHERE id = \(id) AND status <> 'sent' RETURNING 1
                """)
            // Completed once: a second node finishing the same fan-out (its lease expired) adds no second webhook.
            guard !completed.isEmpty else { return }
            try await Self.insertOutbox(rows, app: appID, now: time, on: connection)
        }
    }

    /// `SKIP LOCKED`, so nodes releasing at once take different items.
    public func releaseDueInboxItems(now: Date, limit: Int) async throws -> [(app: AppID, item: InboxItem)] {
        let nowMilliseconds = WireTime.milliseconds(now)
        let records = try await database.rows(
            """
            UPDATE inboxItem SET releasedAt = \(nowMilliseconds)
            WHERE position IN (
                SELECT position FROM inboxItem WHERE releasedAt IS NULL AND createdAt <= \(nowMilliseconds)
                ORDER BY createdAt LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
            RETURNING \(unescaped: InboxItemRecord.postgresColumns)
            """
        ).map(InboxItemRecord.init(postgres:)).sorted { ($0.createdAt, $0.position ?? 0) < ($1.createdAt, $1.position ?? 0) }
        var released: [(app: AppID, item: InboxItem)] = []
        for record in records {
            do {
                released.append((record.appID, try record.item(key: try await keys.key(.user(record.userID), in: record.appID))))
            } catch HeraldError.notFound {
                continue  // The recipient was erased meanwhile: nothing to deliver. Anything else is an error.
            }
        }
        return released
    }
}
