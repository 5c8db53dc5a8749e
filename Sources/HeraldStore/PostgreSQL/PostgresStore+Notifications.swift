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
                leaseUntil, createdAt, completedAt, journeyKey)
            VALUES (\(record.id), \(record.appID), \(record.category), \(record.templateKey), \(record.templateVersion.map(Int64.init)), \(record.sealed),
                \(record.audience), \(record.sendAt), \(record.expiresAt), \(record.status), \(record.audienceSize.map(Int64.init)), \(record.leaseUntil),
                \(record.createdAt), \(record.completedAt), \(record.journeyKey))
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

    public func fanOutProgress(of notification: NotificationID) async throws -> (after: UserID?, seen: Int) {
        guard let (app, after, seen) = try await database.rows("SELECT appID, fanOutAfter, fanOutSeen FROM notification WHERE id = \(notification)").first?
            .decode((AppID, Data?, Int?).self)
        else { return (nil, 0) }
        return InboxWritePlan.progress(after: after, seen: seen, of: notification, appKey: try await keys.key(.app, in: app))
    }

    @discardableResult
    public func writeInbox(_ write: InboxWrite, now: Date) async throws -> Set<InboxItemID> {
        let nowMilliseconds = WireTime.milliseconds(now)
        let app = write.app
        // An item sealed for its recipient alone needs their key, and any item a recipient who still
        // exists: one erased meanwhile gets nothing (the insert checks, holding the user row).
        let personal = write.entries.filter { $0.sharedLocale == nil }.map(\.item.recipient)
        let recipientKeys = personal.isEmpty ? [:] : try await keys.keys(of: personal, in: app)
        let appKey = InboxWritePlan.needsAppKey(write) ? try await keys.existingOrNewKey(.app, in: app) : nil
        let plan = try InboxWritePlan(write, now: nowMilliseconds, recipientKeys: recipientKeys, appKey: appKey)
        let records = plan.items.map(\.record)
        let wantsPush = Set(plan.items.filter(\.push).map(\.record.id))
        return try await database.transaction { connection in
            if !plan.contents.isEmpty {
                try await connection.execute(
                    """
                    INSERT INTO notificationContent (notificationID, locale, appID, sealed)
                    SELECT notificationID, locale, \(app), sealed
                    FROM unnest(\(plan.contents.map(\.key.notification.rawValue))::text[], \(plan.contents.map(\.key.locale))::text[],
                        \(plan.contents.map { ByteBuffer(bytes: $0.sealed) })::bytea[]) AS content(notificationID, locale, sealed)
                    ON CONFLICT DO NOTHING
                    """)
            }
            guard !records.isEmpty || write.progress != nil else { return [] }
            // One statement for the items and one for their pushes, whatever the batch's size; a recipient
            // who already has an item of this notification (a resumed fan-out) is skipped by the constraint.
            // The recipients' rows are held (`FOR KEY SHARE`) so an erasure waits for this commit and then
            // removes what it wrote.
            let inserted =
                records.isEmpty
                ? []
                : try await connection.values(
                    """
                    INSERT INTO inboxItem (id, appID, userID, notificationID, category, sealed, createdAt, releasedAt, expiresAt, locale, binding)
                    SELECT item.id, \(app), item.userID, notificationID, category, NULLIF(sealed, ''::bytea), item.createdAt, NULLIF(releasedAt, -1),
                        NULLIF(expiresAt, -1), NULLIF(locale, E'\\x01'), NULLIF(binding, ''::bytea)
                    FROM unnest(\(records.map(\.id))::text[], \(records.map(\.userID))::text[], \(records.map(\.notificationID))::text[],
                        \(records.map(\.category))::text[], \(records.map { ByteBuffer(bytes: $0.sealed ?? Data()) })::bytea[], \(records.map(\.createdAt))::bigint[],
                        \(records.map { $0.releasedAt ?? -1 })::bigint[], \(records.map { $0.expiresAt ?? -1 })::bigint[],
                        \(records.map { $0.locale ?? "\u{1}" })::text[], \(records.map { ByteBuffer(bytes: $0.binding ?? Data()) })::bytea[])
                        AS item(id, userID, notificationID, category, sealed, createdAt, releasedAt, expiresAt, locale, binding)
                    WHERE item.userID IN (SELECT id FROM "user" WHERE appID = \(app) AND id = ANY(\(records.map(\.userID))::text[]) FOR KEY SHARE)
                    ON CONFLICT DO NOTHING RETURNING id
                    """, as: InboxItemID.self)
            let written = Set(inserted)
            let pushes = records.filter { wantsPush.contains($0.id) && written.contains($0.id) }
            if !pushes.isEmpty {
                try await Self.insertPushes(
                    users: pushes.map(\.userID), items: pushes.map(\.id), availableAt: pushes.map { $0.createdAt + plan.pushGrace },
                    held: pushes.map { $0.releasedAt == nil }, app: app, now: nowMilliseconds, on: connection)
            }
            let fallbacks = records.filter { written.contains($0.id) }.flatMap { InboxWritePlan.fallbackRows(for: $0, write.fallbacks) }
            if !fallbacks.isEmpty {
                try await connection.execute(
                    """
                    INSERT INTO outbox (appID, kind, userID, subjectID, payload, availableAt, createdAt)
                    SELECT \(app), \(OutboxKind.fallbackPolicy), userID, subjectID, payload, availableAt, \(nowMilliseconds)
                    FROM unnest(\(fallbacks.map(\.user))::text[], \(fallbacks.map(\.item))::text[], \(fallbacks.map(\.channel))::text[],
                        \(fallbacks.map(\.availableAt))::bigint[]) AS fallback(userID, subjectID, payload, availableAt)
                    """)
            }
            if let progress = write.progress {
                try await connection.execute(
                    """
                    UPDATE notification SET fanOutAfter = \(plan.sealedAfter), fanOutSeen = \(Int64(progress.seen)),
                        leaseUntil = \(WireTime.milliseconds(progress.leaseUntil))
                    WHERE id = \(progress.notification) AND status = 'sending'
                    """)
            }
            return written
        }
    }

    /// `push` outbox rows for the items not delivered yet whose recipient has a device, or which are held
    /// (pushed when released, hours later: a device registered meanwhile counts).
    private static func insertPushes(
        users: [UserID], items: [InboxItemID], availableAt: [Int64], held: [Bool], app: AppID, now: Int64, on connection: PostgresConnection
    ) async throws {
        try await connection.execute(
            """
            INSERT INTO outbox (appID, kind, userID, subjectID, availableAt, createdAt)
            SELECT \(app), \(OutboxKind.push), userID, subjectID, availableAt, \(now)
            FROM unnest(\(users)::text[], \(items)::text[], \(availableAt)::bigint[], \(held)::boolean[]) AS push(userID, subjectID, availableAt, held)
            WHERE (held OR EXISTS (SELECT 1 FROM device WHERE device.appID = \(app) AND device.userID = push.userID))
            AND EXISTS (SELECT 1 FROM inboxItem WHERE inboxItem.id = push.subjectID AND inboxItem.deliveredAt IS NULL)
            """)
    }

    public func queuePushes(for items: [InboxItem], app: AppID, now: Date) async throws {
        guard !items.isEmpty else { return }
        let grace = Int64(OutboxKind.pushGrace * 1000)
        // Only for items still there and not delivered meanwhile (read on another device). They are locked
        // first: a `markDelivered` in flight then either committed before (its item is left out) or waits,
        // and its delete of push rows sees the rows written here.
        try await database.transaction { connection in
            let pending = Set(
                try await connection.values(
                    "SELECT id FROM inboxItem WHERE appID = \(app) AND deliveredAt IS NULL AND id = ANY(\(items.map(\.id))) FOR NO KEY UPDATE",
                    as: InboxItemID.self))
            let due = items.filter { pending.contains($0.id) }
            guard !due.isEmpty else { return }
            try await Self.insertPushes(
                users: due.map(\.recipient), items: due.map(\.id), availableAt: due.map { WireTime.milliseconds($0.createdAt) + grace },
                held: due.map { _ in false }, app: app, now: WireTime.milliseconds(now), on: connection)
        }
    }

    public func markDelivered(_ items: [InboxItemID], signatures: [InboxSignature], app: AppID) async throws {
        guard !items.isEmpty || !signatures.isEmpty else { return }
        let time = nowMilliseconds()
        try await database.transaction { connection in
            try await Self.markDelivered(items, app: app, at: time, on: connection)
            try await Self.record(signatures, app: app, on: connection)
        }
    }

    public func recordInboxSignatures(_ signatures: [InboxSignature], app: AppID) async throws {
        guard !signatures.isEmpty else { return }
        try await database.transaction { connection in try await Self.record(signatures, app: app, on: connection) }
    }

    static func record(_ signatures: [InboxSignature], app: AppID, on connection: PostgresConnection) async throws {
        guard !signatures.isEmpty else { return }
        try await connection.execute(
            """
            UPDATE inboxItem SET signature = signed.signature, signedBy = signed.kid
            FROM unnest(\(signatures.map(\.item))::text[], \(signatures.map(\.kid))::text[], \(signatures.map { ByteBuffer(bytes: $0.signature) })::bytea[])
                AS signed(id, kid, signature)
            WHERE inboxItem.id = signed.id AND inboxItem.appID = \(app) AND inboxItem.locale IS NOT NULL AND inboxItem.signature IS NULL
            """)
    }

    /// Sets `deliveredAt` once and drops the pushes the items no longer need.
    static func markDelivered(_ ids: [InboxItemID], app: AppID, at time: Int64, on connection: PostgresConnection) async throws {
        guard !ids.isEmpty else { return }
        try await connection.execute("UPDATE inboxItem SET deliveredAt = \(time) WHERE appID = \(app) AND deliveredAt IS NULL AND id = ANY(\(ids))")
        try await connection.execute("DELETE FROM outbox WHERE kind = \(OutboxKind.push) AND subjectID = ANY(\(ids))")
    }

    public func failNotification(_ id: NotificationID) async throws {
        try await database.execute(
            "UPDATE notification SET status = 'failed', completedAt = \(nowMilliseconds()), leaseUntil = NULL, fanOutAfter = NULL WHERE id = \(id) AND status <> 'sent'")
    }

    public func completeNotification(_ id: NotificationID, audienceSize: Int, effects: [OutboxEntry]) async throws {
        let time = nowMilliseconds()
        guard let appID = try await database.value("SELECT appID FROM notification WHERE id = \(id)", as: AppID.self) else { return }
        let rows = try await sealedOutboxRows(effects, app: appID)
        try await database.transaction { connection in
            let completed = try await connection.rows(
                """
                UPDATE notification SET status = 'sent', audienceSize = \(Int64(audienceSize)), completedAt = \(time), leaseUntil = NULL, fanOutAfter = NULL
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
        let shared = try await sharedContents(of: records, on: database)
        var released: [(app: AppID, item: InboxItem)] = []
        for record in records {
            do {
                released.append((record.appID, try await openedItem(record, shared: shared)))
            } catch HeraldError.notFound {
                continue  // The recipient was erased meanwhile: nothing to deliver.
            } catch is StoreCorruption {
                continue  // A row written outside Herald: never shown, and it does not hold up the others.
            }
        }
        return released
    }
}

extension PostgresStore {
    /// The shared content `records` reference: opened already (`sharedContent`), or read through `runner`
    /// (the caller's transaction, if any: never a second connection held meanwhile) and opened now.
    func sharedContents(of records: [InboxItemRecord], on runner: some PostgresQueryRunner) async throws -> InboxItemRecord.SharedContents {
        var (contents, missing) = sharedContent.lookup(for: records)
        guard !missing.isEmpty else { return contents }
        let wanted = Set(missing)
        var rows: [SharedContentCache.SealedRow] = []
        var appKeys: [AppID: DataKey] = [:]
        for row in try await runner.rows(
            "SELECT notificationID, locale, appID, sealed FROM notificationContent WHERE notificationID = ANY(\(Array(Set(missing.map(\.notification)))))")
        {
            let (notification, locale, app, sealed) = try row.decode((NotificationID, String, AppID, Data).self)
            let key = SharedContentCache.Key(app: app, notification: notification, locale: locale)
            guard wanted.contains(key) else { continue }
            rows.append(SharedContentCache.SealedRow(key: key, sealed: sealed))
            if appKeys[app] == nil { appKeys[app] = try await keys.key(.app, in: app) }
        }
        contents.merge(try sharedContent.open(rows) { app in appKeys[app] }) { first, _ in first }
        return contents
    }

    /// The item of `record`, opened with its recipient's key (and for a reference, the app's, with its
    /// content from `shared`).
    func openedItem(_ record: InboxItemRecord, shared: InboxItemRecord.SharedContents) async throws -> InboxItem {
        try record.item(
            userKey: try await keys.key(.user(record.userID), in: record.appID),
            appKey: record.locale == nil ? nil : try await keys.key(.app, in: record.appID), shared: shared)
    }
}
