public import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func createNotification(
        _ notification: OutgoingNotification, idempotency: IdempotencyKey?
    ) async throws -> (notification: OutgoingNotification, isReplay: Bool) {
        let appKey = try await keys.existingOrNewKey(.app, in: notification.app)
        let record = try NotificationRecord(notification, key: appKey)
        return try await pool.write { [keys] db in
            if let key = idempotency,
                let existing = try IdempotencyRecord.fetchOne(db, key: ["appID": notification.app.rawValue, "scope": key.scope, "key": key.key.rawValue])
            {
                if key.requiresSameRequest, !key.matches(existing.fingerprint, appKey: appKey) {
                    throw IdempotencyKey.conflict
                }
                if let first = try NotificationRecord.fetchOne(db, key: existing.resultID) { return (try first.notification(keys: keys), true) }
            }
            try record.insert(db)
            if let key = idempotency {
                try IdempotencyRecord(key, app: notification.app, appKey: appKey, resultID: record.id.rawValue, createdAt: record.createdAt).save(db)
            }
            return (notification, false)
        }
    }

    public func notification(_ id: NotificationID, in app: AppID) async throws -> OutgoingNotification? {
        try await pool.read { db in
            try NotificationRecord.filter(NotificationRecord.Columns.id == id.rawValue && NotificationRecord.Columns.appID == app.rawValue).fetchOne(db)
        }?.notification(keys: keys)
    }

    public func notificationReport(_ id: NotificationID, in app: AppID) async throws -> NotificationReport? {
        try await pool.read { db in
            guard
                let record = try NotificationRecord.filter(NotificationRecord.Columns.id == id.rawValue && NotificationRecord.Columns.appID == app.rawValue)
                    .fetchOne(db)
            else { return nil }
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) AS recipients, COUNT(deliveredAt) AS delivered, COUNT(readAt) AS read, COUNT(actedAt) AS acted
                    FROM inboxItem WHERE notificationID = ?
                    """, arguments: [record.id])!
            return record.report(
                recipients: try row.decode(forColumn: "recipients"), delivered: try row.decode(forColumn: "delivered"), read: try row.decode(forColumn: "read"),
                acted: try row.decode(forColumn: "acted"))
        }
    }

    public func claimDueNotifications(now: Date, lease: TimeInterval, limit: Int) async throws -> [OutgoingNotification] {
        let nowMilliseconds = WireTime.milliseconds(now)
        let leaseUntil = WireTime.milliseconds(now.addingTimeInterval(lease))
        return try await pool.write { db in
            let due = try NotificationRecord.fetchAll(
                db,
                sql: """
                    SELECT * FROM notification
                    WHERE (status = 'scheduled' AND sendAt <= ?) OR (status = 'sending' AND (leaseUntil IS NULL OR leaseUntil <= ?))
                    ORDER BY createdAt LIMIT ?
                    """, arguments: [nowMilliseconds, nowMilliseconds, limit])
            for record in due {
                try db.execute(sql: "UPDATE notification SET status = 'sending', leaseUntil = ? WHERE id = ?", arguments: [leaseUntil, record.id])
            }
            return try due.map { record in
                var notification = try record.notification(keys: keys)
                notification.status = .sending
                return notification
            }
        }
    }

    public func audience(of notification: OutgoingNotification) async throws -> [Recipient] {
        switch notification.audience {
        case .users(let ids): try await recipients(ids, in: notification.app)
        case .segment(let segment): try await recipients(in: segment, app: notification.app)
        }
    }

    public func recipientsWithItems(of notification: NotificationID) async throws -> Set<UserID> {
        try await pool.read { db in
            Set(try UserID.fetchAll(db, sql: "SELECT userID FROM inboxItem WHERE notificationID = ?", arguments: [notification]))
        }
    }

    public func insertInboxItems(_ items: [InboxItem], app: AppID, now: Date) async throws {
        let nowMilliseconds = WireTime.milliseconds(now)
        // Each item is sealed with its recipient's key; a recipient erased meanwhile gets nothing.
        let recipientKeys = try keys.keys(of: items.map(\.recipient), in: app)
        let records = try items.compactMap { item -> InboxItemRecord? in
            guard let key = recipientKeys[item.recipient] else { return nil }
            let created = WireTime.milliseconds(item.createdAt)
            return try InboxItemRecord(item, app: app, releasedAt: created <= nowMilliseconds ? nowMilliseconds : nil, key: key)
        }
        let pushGrace = Int64(OutboxKind.pushGrace * 1000)
        try await pool.write { db in
            let insert = try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO inboxItem
                    (id, appID, userID, notificationID, category, sealed, createdAt, releasedAt, expiresAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            let push = try db.cachedStatement(
                sql: "INSERT INTO outbox (appID, kind, userID, subjectID, availableAt, createdAt) VALUES (?, '\(OutboxKind.push.rawValue)', ?, ?, ?, ?)")
            for record in records {
                try insert.execute(arguments: [
                    record.id, record.appID, record.userID, record.notificationID, record.category, record.sealed, record.createdAt,
                    record.releasedAt, record.expiresAt,
                ])
                guard db.changesCount == 1 else { continue }
                try push.execute(arguments: [record.appID, record.userID, record.id, record.createdAt + pushGrace, nowMilliseconds])
            }
        }
    }

    public func markDelivered(_ items: [InboxItemID], app: AppID) async throws {
        guard !items.isEmpty else { return }
        let time = nowMilliseconds()
        try await pool.write { db in
            try Self.markDelivered(items, app: app, at: time, db: db)
        }
    }

    /// Sets `deliveredAt` once and drops the pushes the items no longer need.
    static func markDelivered(_ ids: [InboxItemID], app: AppID, at time: Int64, db: Database) throws {
        for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
            let marks = databaseQuestionMarks(count: chunk.count)
            try db.execute(
                sql: "UPDATE inboxItem SET deliveredAt = ? WHERE appID = ? AND deliveredAt IS NULL AND id IN (\(marks))",
                arguments: StatementArguments([time, app.rawValue] as [any DatabaseValueConvertible]) + StatementArguments(chunk))
            try db.execute(sql: "DELETE FROM outbox WHERE kind = '\(OutboxKind.push.rawValue)' AND subjectID IN (\(marks))", arguments: StatementArguments(chunk))
        }
    }

    public func completeNotification(_ id: NotificationID, audienceSize: Int, effects: [OutboxEntry]) async throws {
        let time = nowMilliseconds()
        try await pool.write { db in
            guard let appID = try AppID.fetchOne(db, sql: "SELECT appID FROM notification WHERE id = ? AND status != 'sent'", arguments: [id.rawValue]) else {
                return
            }
            try db.execute(
                sql: "UPDATE notification SET status = 'sent', audienceSize = ?, completedAt = ?, leaseUntil = NULL WHERE id = ?",
                arguments: [audienceSize, time, id.rawValue])
            try Self.insert(effects, app: appID, now: time, keys: keys, db: db)
        }
    }

    public func failNotification(_ id: NotificationID) async throws {
        let time = nowMilliseconds()
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE notification SET status = 'failed', completedAt = ?, leaseUntil = NULL WHERE id = ? AND status <> 'sent'", arguments: [time, id.rawValue])
        }
    }

    public func releaseDueInboxItems(now: Date, limit: Int) async throws -> [(app: AppID, item: InboxItem)] {
        let nowMilliseconds = WireTime.milliseconds(now)
        return try await pool.write { db in
            let due = try InboxItemRecord.filter(InboxItemRecord.Columns.releasedAt == nil && InboxItemRecord.Columns.createdAt <= nowMilliseconds)
                .order(InboxItemRecord.Columns.createdAt).limit(limit).fetchAll(db)
            for record in due {
                try db.execute(sql: "UPDATE inboxItem SET releasedAt = ? WHERE position = ?", arguments: [nowMilliseconds, record.position])
            }
            return try due.compactMap { record in
                do {
                    return (record.appID, try record.item(keys: keys))
                } catch HeraldError.notFound {
                    return nil  // The recipient was erased meanwhile: nothing to deliver. Anything else is an error.
                }
            }
        }
    }
}
