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

    public func fanOutProgress(of notification: NotificationID) async throws -> (after: UserID?, seen: Int) {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT appID, fanOutAfter, fanOutSeen FROM notification WHERE id = ?", arguments: [notification]) else {
                return (nil, 0)
            }
            let app: AppID = try row.decode(forColumn: "appID")
            return InboxWritePlan.progress(
                after: try row.decode(forColumn: "fanOutAfter"), seen: try row.decode(forColumn: "fanOutSeen"), of: notification, appKey: try keys.key(.app, in: app))
        }
    }

    @discardableResult
    public func writeInbox(_ write: InboxWrite, now: Date) async throws -> Set<InboxItemID> {
        let nowMilliseconds = WireTime.milliseconds(now)
        let app = write.app
        // An item sealed for its recipient alone needs their key, and any item a recipient who still
        // exists: one erased meanwhile gets nothing (the insert checks, inside the writer's transaction).
        let personal = write.entries.filter { $0.sharedLocale == nil }.map(\.item.recipient)
        let recipientKeys = personal.isEmpty ? [:] : try keys.keys(of: personal, in: app)
        let appKey = InboxWritePlan.needsAppKey(write) ? try await keys.existingOrNewKey(.app, in: app) : nil
        let plan = try InboxWritePlan(write, now: nowMilliseconds, recipientKeys: recipientKeys, appKey: appKey)
        return try await pool.write { db in
            var written = Set<InboxItemID>()
            let content = try db.cachedStatement(sql: "INSERT OR IGNORE INTO notificationContent (notificationID, locale, appID, sealed) VALUES (?, ?, ?, ?)")
            for row in plan.contents {
                try content.execute(arguments: [row.key.notification, row.key.locale, app, row.sealed])
            }
            let insert = try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO inboxItem
                    (id, appID, userID, notificationID, category, sealed, createdAt, releasedAt, expiresAt, locale, binding)
                    SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM user WHERE appID = ?2 AND id = ?3)
                    """)
            let push = try db.cachedStatement(sql: Self.pushForDeviceHolder)
            let fallback =
                write.fallbacks.isEmpty
                ? nil
                : try db.cachedStatement(
                    sql: "INSERT INTO outbox (appID, kind, userID, subjectID, payload, availableAt, createdAt) VALUES (?, '\(OutboxKind.fallbackPolicy.rawValue)', ?, ?, ?, ?, ?)")
            // Who among the recipients has a device, in one pass: most of a broadcast's audience may have
            // none, and a push statement for each of them would find nothing to write.
            let holders = try Self.deviceHolders(among: plan.items.filter { $0.push && $0.record.releasedAt != nil }.map(\.record.userID), app: app, db: db)
            for (record, wantsPush) in plan.items {
                try insert.execute(arguments: [
                    record.id, record.appID, record.userID, record.notificationID, record.category, record.sealed, record.createdAt,
                    record.releasedAt, record.expiresAt, record.locale, record.binding,
                ])
                guard db.changesCount == 1 else { continue }
                written.insert(record.id)
                if let fallback {
                    for row in InboxWritePlan.fallbackRows(for: record, write.fallbacks) {
                        try fallback.execute(arguments: [app, row.user, row.item, row.channel, row.availableAt, nowMilliseconds])
                    }
                }
                guard wantsPush, record.releasedAt == nil || holders.contains(record.userID) else { continue }
                try push.execute(arguments: [record.appID, record.userID, record.id, record.createdAt + plan.pushGrace, nowMilliseconds, record.releasedAt == nil])
            }
            if let progress = write.progress {
                try db.execute(
                    sql: "UPDATE notification SET fanOutAfter = ?, fanOutSeen = ?, leaseUntil = ? WHERE id = ? AND status = 'sending'",
                    arguments: [plan.sealedAfter, progress.seen, WireTime.milliseconds(progress.leaseUntil), progress.notification])
            }
            return written
        }
    }

    /// The users among `users` who have a device in the app.
    static func deviceHolders(among users: [UserID], app: AppID, db: Database) throws -> Set<UserID> {
        var holders = Set<UserID>()
        for chunk in stride(from: 0, to: users.count, by: 500).map({ Array(users[$0..<min($0 + 500, users.count)]) }) {
            holders.formUnion(
                try UserID.fetchAll(
                    db, sql: "SELECT DISTINCT userID FROM device WHERE appID = ? AND userID IN (\(databaseQuestionMarks(count: chunk.count)))",
                    arguments: StatementArguments([app.rawValue]) + StatementArguments(chunk.map(\.rawValue))))
        }
        return holders
    }

    /// A `push` outbox row for an item not delivered yet, if its recipient has a device or the item is held
    /// (it is pushed when released, hours later: a device registered meanwhile counts). Arguments: app,
    /// user, item, available at, created at, whether held.
    private static let pushForDeviceHolder = """
        INSERT INTO outbox (appID, kind, userID, subjectID, availableAt, createdAt)
        SELECT ?1, '\(OutboxKind.push.rawValue)', ?2, ?3, ?4, ?5
        WHERE (?6 OR EXISTS (SELECT 1 FROM device WHERE appID = ?1 AND userID = ?2))
        AND EXISTS (SELECT 1 FROM inboxItem WHERE id = ?3 AND deliveredAt IS NULL)
        """

    public func queuePushes(for items: [InboxItem], app: AppID, now: Date) async throws {
        guard !items.isEmpty else { return }
        let nowMilliseconds = WireTime.milliseconds(now)
        let grace = Int64(OutboxKind.pushGrace * 1000)
        try await pool.write { db in
            let push = try db.cachedStatement(sql: Self.pushForDeviceHolder)
            // Only for an item still there and not delivered meanwhile (read on another device): the statement checks.
            for item in items {
                try push.execute(arguments: [app, item.recipient, item.id, WireTime.milliseconds(item.createdAt) + grace, nowMilliseconds, false])
            }
        }
    }

    public func markDelivered(_ items: [InboxItemID], signatures: [InboxSignature], app: AppID) async throws {
        guard !items.isEmpty || !signatures.isEmpty else { return }
        let time = nowMilliseconds()
        try await pool.write { db in
            try Self.markDelivered(items, app: app, at: time, db: db)
            try Self.record(signatures, app: app, db: db)
        }
    }

    public func recordInboxSignatures(_ signatures: [InboxSignature], app: AppID) async throws {
        guard !signatures.isEmpty else { return }
        try await pool.write { db in try Self.record(signatures, app: app, db: db) }
    }

    static func record(_ signatures: [InboxSignature], app: AppID, db: Database) throws {
        let update = try db.cachedStatement(
            sql: "UPDATE inboxItem SET signature = ?, signedBy = ? WHERE id = ? AND appID = ? AND locale IS NOT NULL AND signature IS NULL")
        for signature in signatures {
            try update.execute(arguments: [signature.signature, signature.kid, signature.item, app])
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
                sql: "UPDATE notification SET status = 'sent', audienceSize = ?, completedAt = ?, leaseUntil = NULL, fanOutAfter = NULL WHERE id = ?",
                arguments: [audienceSize, time, id.rawValue])
            try Self.insert(effects, app: appID, now: time, keys: keys, db: db)
        }
    }

    public func failNotification(_ id: NotificationID) async throws {
        let time = nowMilliseconds()
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE notification SET status = 'failed', completedAt = ?, leaseUntil = NULL, fanOutAfter = NULL WHERE id = ? AND status <> 'sent'",
                arguments: [time, id.rawValue])
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
            let shared = try sharedContents(of: due, db: db)
            return try due.compactMap { record in
                do {
                    return (record.appID, try record.item(keys: keys, shared: shared))
                } catch HeraldError.notFound {
                    return nil  // The recipient was erased meanwhile: nothing to deliver.
                } catch is StoreCorruption {
                    return nil  // A row written outside Herald: never shown, and it does not hold up the others.
                }
            }
        }
    }
}

extension SQLiteStore {
    /// The shared content `records` reference: opened already (`sharedContent`), or read and opened now.
    func sharedContents(of records: [InboxItemRecord], db: Database) throws -> InboxItemRecord.SharedContents {
        var (contents, missing) = sharedContent.lookup(for: records)
        guard !missing.isEmpty else { return contents }
        var rows: [SharedContentCache.SealedRow] = []
        let select = try db.cachedStatement(sql: "SELECT sealed FROM notificationContent WHERE notificationID = ? AND locale = ? AND appID = ?")
        for key in missing {
            guard let sealed = try Data.fetchOne(select, arguments: [key.notification, key.locale, key.app]) else { continue }
            rows.append(SharedContentCache.SealedRow(key: key, sealed: sealed))
        }
        contents.merge(try sharedContent.open(rows) { app in try keys.key(.app, in: app) }) { first, _ in first }
        return contents
    }
}
