import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {
    private static func unreadCount(of user: UserID, in app: AppID, now: Int64, on runner: some PostgresQueryRunner) async throws -> Int {
        try await runner.value(
            "SELECT count(*) FROM inboxItem WHERE appID = \(app) AND userID = \(user) AND releasedAt IS NOT NULL AND (expiresAt IS NULL OR expiresAt > \(now)) AND readAt IS NULL AND archivedAt IS NULL",
            as: Int.self) ?? 0
    }

    public func inbox(of user: UserID, in app: AppID, query: InboxQuery) async throws -> InboxPage {
        let now = nowMilliseconds()
        let state: String =
            switch query.state {
            case .all: "archivedAt IS NULL"
            case .unread: "archivedAt IS NULL AND readAt IS NULL"
            case .read: "archivedAt IS NULL AND readAt IS NOT NULL"
            case .archived: "archivedAt IS NOT NULL"
            }
        // Absent filters are bound as values that match everything, so the statement text stays fixed.
        let category = query.category?.rawValue
        let cursorCreatedAt = query.cursor?.createdAt ?? Int64.max
        let cursorPosition = query.cursor?.position ?? Int64.max
        let key = try await keys.key(.user(user), in: app)
        let appKey = try await keys.key(.app, in: app)
        let tagger = appKey?.tagger(purpose: InboxItemRecord.bindingPurpose)
        return try await database.transaction { connection in
            var records = try await connection.rows(
                """
                SELECT \(unescaped: InboxItemRecord.postgresColumns) FROM inboxItem
                WHERE appID = \(app) AND userID = \(user) AND releasedAt IS NOT NULL AND (expiresAt IS NULL OR expiresAt > \(now))
                AND \(unescaped: state) AND (\(category)::text IS NULL OR category = \(category))
                AND (createdAt < \(cursorCreatedAt) OR (createdAt = \(cursorCreatedAt) AND position < \(cursorPosition)))
                ORDER BY createdAt DESC, position DESC LIMIT \(Int64(query.limit + 1))
                """
            ).map(InboxItemRecord.init(postgres:))
            let hasMore = records.count > query.limit
            records = Array(records.prefix(query.limit))
            try await Self.markDelivered(records.filter { $0.deliveredAt == nil }.map(\.id), app: app, at: now, on: connection)
            let shared = try await sharedContents(of: records, on: connection)
            return InboxPage(
                items: try records.map { try $0.item(userKey: key, appKey: appKey, shared: shared, tagger: tagger) },
                nextCursor: hasMore ? records.last?.cursor.token : nil,
                unreadCount: try await Self.unreadCount(of: user, in: app, now: now, on: connection))
        }
    }

    public func inboxItem(_ id: InboxItemID, of user: UserID, in app: AppID) async throws -> InboxItem? {
        guard let record = try await Self.itemRecord(id, of: user, in: app, on: database) else { return nil }
        return try await openedItem(record, shared: try await sharedContents(of: [record], on: database))
    }

    /// A released item of the user, expired or not.
    static func itemRecord(_ id: InboxItemID, of user: UserID, in app: AppID, on runner: some PostgresQueryRunner, lock: Bool = false) async throws
        -> InboxItemRecord?
    {
        try await runner.rows(
            """
            SELECT \(unescaped: InboxItemRecord.postgresColumns) FROM inboxItem
            WHERE id = \(id) AND appID = \(app) AND userID = \(user) AND releasedAt IS NOT NULL\(unescaped: lock ? " FOR UPDATE" : "")
            """
        ).first.map(InboxItemRecord.init(postgres:))
    }

    public func markInboxItemRead(_ id: InboxItemID, of user: UserID, in app: AppID) async throws -> InboxItem {
        try await updateItem(id, of: user, in: app, set: "readAt = COALESCE(readAt, $1), deliveredAt = COALESCE(deliveredAt, $1)")
    }

    public func archiveInboxItem(_ id: InboxItemID, of user: UserID, in app: AppID) async throws -> InboxItem {
        try await updateItem(id, of: user, in: app, set: "archivedAt = COALESCE(archivedAt, $1)")
    }

    /// - Parameter set: assignments in which `$1` is the time now.
    private func updateItem(_ id: InboxItemID, of user: UserID, in app: AppID, set: String) async throws -> InboxItem {
        let now = nowMilliseconds()
        return try await database.transaction { connection in
            var bindings = PostgresBindings()
            bindings.append(now)
            bindings.append(id.rawValue)
            bindings.append(app.rawValue)
            bindings.append(user.rawValue)
            let updated = try await connection.rows(
                PostgresQuery(
                    unsafeSQL: """
                        UPDATE inboxItem SET \(set) WHERE id = $2 AND appID = $3 AND userID = $4 AND releasedAt IS NOT NULL
                        RETURNING \(InboxItemRecord.postgresColumns)
                        """, binds: bindings))
            guard let row = updated.first else { throw HeraldError.notFound(resource: "inbox item") }
            try await connection.execute("DELETE FROM outbox WHERE kind = \(OutboxKind.push) AND subjectID = \(id)")
            let record = try InboxItemRecord(postgres: row)
            return try await openedItem(record, shared: try await sharedContents(of: [record], on: connection))
        }
    }

    public func markAllInboxItemsRead(of user: UserID, in app: AppID, category: NotificationCategory?) async throws -> Int {
        let now = nowMilliseconds()
        let category = category?.rawValue
        return try await database.values(
            """
            UPDATE inboxItem SET readAt = \(now), deliveredAt = COALESCE(deliveredAt, \(now))
            WHERE appID = \(app) AND userID = \(user) AND releasedAt IS NOT NULL AND (expiresAt IS NULL OR expiresAt > \(now))
            AND readAt IS NULL AND (\(category)::text IS NULL OR category = \(category)) RETURNING 1
            """, as: Int.self
        ).count
    }

    public func unreadInboxCount(of user: UserID, in app: AppID) async throws -> Int {
        try await Self.unreadCount(of: user, in: app, now: nowMilliseconds(), on: database)
    }

}
