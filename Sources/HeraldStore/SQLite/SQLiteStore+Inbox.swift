import Foundation
import GRDB
public import HeraldCore
public import NIOCore

extension SQLiteStore {
    /// Items the user can see at `now`: released and not expired.
    private static func visibleItems(of user: UserID, in app: AppID, now: Int64) -> QueryInterfaceRequest<InboxItemRecord> {
        InboxItemRecord.filter(
            InboxItemRecord.Columns.appID == app.rawValue && InboxItemRecord.Columns.userID == user.rawValue
                && InboxItemRecord.Columns.releasedAt != nil && (InboxItemRecord.Columns.expiresAt == nil || InboxItemRecord.Columns.expiresAt > now))
    }

    private static func unreadCount(of user: UserID, in app: AppID, now: Int64, db: Database) throws -> Int {
        try visibleItems(of: user, in: app, now: now).filter(InboxItemRecord.Columns.readAt == nil && InboxItemRecord.Columns.archivedAt == nil)
            .fetchCount(db)
    }

    /// Read in a read transaction, beside the writer; the items shown for the first time are then
    /// marked delivered in a write of their own, before the page is returned. A page that marked
    /// nothing (every page after a customer's first) never waits for the writer: it used to be a write
    /// transaction, queued behind every commit of every channel (issue 20).
    public func inbox(of user: UserID, in app: AppID, query: InboxQuery) async throws -> InboxPage {
        try await readInbox(of: user, in: app, query: query, readingExpiry: false).page
    }

    /// Answered from `inboxPages` when the customer's items have not changed since the same first page
    /// was answered; otherwise read, written by `render`, and kept when the read changed nothing (a page
    /// that marked items delivered, or whose items `render` signed, is read again next time, then kept).
    public func inboxPage(
        of user: UserID, in app: AppID, query: InboxQuery, render: @Sendable (InboxPage) async throws -> [UInt8]
    ) async throws -> ByteBuffer {
        guard InboxPages.keeps(query) else { return ByteBuffer(bytes: try await render(try await inbox(of: user, in: app, query: query))) }
        let customer = AppUser(app: app, user: user)
        if let kept = inboxPages.page(of: customer, query: query, now: nowMilliseconds()) { return kept }
        let generation = inboxPages.generation(of: customer)
        let (page, validUntil) = try await readInbox(of: user, in: app, query: query, readingExpiry: true)
        let json = ByteBuffer(bytes: try await render(page))
        inboxPages.keep(json, of: customer, query: query, validUntil: validUntil, readIn: generation)
        return json
    }

    /// The page and, when `readingExpiry`, the first expiry (milliseconds) among the user's visible
    /// items: until then, and while none of their items changes, the same query gives the same page.
    private func readInbox(of user: UserID, in app: AppID, query: InboxQuery, readingExpiry: Bool) async throws -> (page: InboxPage, validUntil: Int64?) {
        let now = nowMilliseconds()
        let (page, undelivered, validUntil) = try await pool.read { db in
            var request = Self.visibleItems(of: user, in: app, now: now)
            switch query.state {
            case .all: request = request.filter(InboxItemRecord.Columns.archivedAt == nil)
            case .unread: request = request.filter(InboxItemRecord.Columns.archivedAt == nil && InboxItemRecord.Columns.readAt == nil)
            case .read: request = request.filter(InboxItemRecord.Columns.archivedAt == nil && InboxItemRecord.Columns.readAt != nil)
            case .archived: request = request.filter(InboxItemRecord.Columns.archivedAt != nil)
            }
            if let category = query.category { request = request.filter(InboxItemRecord.Columns.category == category.rawValue) }
            if let cursor = query.cursor {
                request = request.filter(
                    InboxItemRecord.Columns.createdAt < cursor.createdAt
                        || (InboxItemRecord.Columns.createdAt == cursor.createdAt && InboxItemRecord.Columns.position < cursor.position))
            }
            var records = try request.order(InboxItemRecord.Columns.createdAt.desc, InboxItemRecord.Columns.position.desc).limit(query.limit + 1)
                .fetchAll(db)
            let hasMore = records.count > query.limit
            records = Array(records.prefix(query.limit))
            let shared = try sharedContents(of: records, db: db)
            let tagger = records.contains { $0.locale != nil } ? try keys.key(.app, in: app)?.tagger(purpose: InboxItemRecord.bindingPurpose) : nil
            let page = InboxPage(
                items: try records.map { try $0.item(keys: keys, shared: shared, tagger: tagger) }, nextCursor: hasMore ? records.last?.cursor.token : nil,
                unreadCount: try Self.unreadCount(of: user, in: app, now: now, db: db))
            let validUntil = try !readingExpiry ? nil : Int64.fetchOne(
                db.cachedStatement(
                    sql: "SELECT MIN(expiresAt) FROM inboxItem WHERE appID = ? AND userID = ? AND releasedAt IS NOT NULL AND expiresAt > ?"),
                arguments: [app, user, now])
            return (page, records.filter { $0.deliveredAt == nil }.map(\.id), validUntil)
        }
        if !undelivered.isEmpty {
            try await pool.write { db in try Self.markDelivered(undelivered, app: app, at: now, db: db) }
        }
        return (page, validUntil)
    }

    public func inboxItem(_ id: InboxItemID, of user: UserID, in app: AppID) async throws -> InboxItem? {
        try await pool.read { db in
            guard let record = try Self.itemRecord(id, of: user, in: app, db: db) else { return nil }
            return try record.item(keys: keys, shared: try sharedContents(of: [record], db: db))
        }
    }

    /// A released item of the user, expired or not.
    static func itemRecord(_ id: InboxItemID, of user: UserID, in app: AppID, db: Database) throws -> InboxItemRecord? {
        try InboxItemRecord.filter(
            InboxItemRecord.Columns.id == id.rawValue && InboxItemRecord.Columns.appID == app.rawValue && InboxItemRecord.Columns.userID == user.rawValue
                && InboxItemRecord.Columns.releasedAt != nil
        ).fetchOne(db)
    }

    public func markInboxItemRead(_ id: InboxItemID, of user: UserID, in app: AppID) async throws -> InboxItem {
        try await updateItem(id, of: user, in: app, sql: "readAt = COALESCE(readAt, ?1), deliveredAt = COALESCE(deliveredAt, ?1)")
    }

    public func archiveInboxItem(_ id: InboxItemID, of user: UserID, in app: AppID) async throws -> InboxItem {
        try await updateItem(id, of: user, in: app, sql: "archivedAt = COALESCE(archivedAt, ?1)")
    }

    private func updateItem(_ id: InboxItemID, of user: UserID, in app: AppID, sql: String) async throws -> InboxItem {
        let now = nowMilliseconds()
        return try await pool.write { db in
            guard let record = try Self.itemRecord(id, of: user, in: app, db: db) else { throw HeraldError.notFound(resource: "inbox item") }
            try db.execute(sql: "UPDATE inboxItem SET \(sql) WHERE position = ?2", arguments: [now, record.position])
            try db.execute(sql: "DELETE FROM outbox WHERE kind = '\(OutboxKind.push.rawValue)' AND subjectID = ?", arguments: [record.id])
            return try InboxItemRecord.fetchOne(db, key: record.position)!.item(keys: keys, shared: try sharedContents(of: [record], db: db))
        }
    }

    public func markAllInboxItemsRead(of user: UserID, in app: AppID, category: NotificationCategory?) async throws -> Int {
        let now = nowMilliseconds()
        return try await pool.write { db in
            var request = Self.visibleItems(of: user, in: app, now: now).filter(InboxItemRecord.Columns.readAt == nil)
            if let category { request = request.filter(InboxItemRecord.Columns.category == category.rawValue) }
            return try request.updateAll(
                db, InboxItemRecord.Columns.readAt.set(to: now), Column("deliveredAt").set(to: Column("deliveredAt") ?? now))
        }
    }

    public func unreadInboxCount(of user: UserID, in app: AppID) async throws -> Int {
        let now = nowMilliseconds()
        return try await pool.read { db in try Self.unreadCount(of: user, in: app, now: now, db: db) }
    }
}
