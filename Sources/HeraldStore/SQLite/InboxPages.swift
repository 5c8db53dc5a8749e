import GRDB
import HeraldCore
import Synchronization

/// Inbox pages as their responses' JSON, kept per customer so that the next `GET /v1/me/inbox` of
/// the same customer costs no database read, no opening and no signing (issue 20: an app asks for its
/// first page each time it comes to the foreground, reconnects or is pulled to refresh).
///
/// A kept page is exactly what the database would give, because it is forgotten the moment anything
/// it was made from changes:
///
/// - **A change to any of the customer's items** (a new item, delivered, read, archived, acted on,
///   signed, released from quiet hours, deleted by retention or erasure). Temporary triggers on the
///   writer connection call `herald_inbox_changed(app, user)` for every row inserted, updated or
///   deleted, foreign-key cascades included, and when the transaction commits, those customers' pages
///   are forgotten, before the write returns to its caller. A customer's page outlives changes to
///   everyone else's inbox: a fan-out to a segment forgets only the pages of its recipients.
/// - **Time.** A page is kept until the first of the customer's visible items expires (it leaves the
///   list and the unread count), read from the database with the page.
/// - **A read that raced with a change** never puts an old page back: each forgetting starts a new
///   generation, and a page is kept only under the generation its read began in.
///
/// Correct because this process is the database's only writer (the data directory's lock, as for
/// `ObservedTableCache`); the CLI commands that open a live server's database never write inbox items.
/// A row changed by someone writing the file behind Herald's back is not seen until the customer's
/// next change: such a row is never shown from memory that it was not shown from the database before.
///
/// Bounded by bytes (64 MiB by default, about 1,400 first pages of 50 signed items); past that it
/// starts again empty. The pages hold opened content in memory, like `RecentMessages`
/// (`docs/security.md`, "What is in clear in memory").
final class InboxPages: Sendable {
    /// What a page answers: everything of `InboxQuery`, the cursor as its two numbers.
    struct Query: Hashable, Sendable {
        var cursorCreatedAt: Int64?
        var cursorPosition: Int64?
        var limit: Int
        var category: NotificationCategory?
        var state: InboxQuery.State

        init(_ query: InboxQuery) {
            cursorCreatedAt = query.cursor?.createdAt
            cursorPosition = query.cursor?.position
            limit = query.limit
            category = query.category
            state = query.state
        }
    }

    private struct Page {
        var json: [UInt8]
        /// The first expiry (milliseconds) among the customer's visible items, when one expires.
        var validUntil: Int64?
    }

    private struct State {
        var generation: UInt64 = 0
        var pages: [AppUser: [Query: Page]] = [:]
        var bytes = 0
        /// The customers whose items the writer's current transaction changed.
        var changed: Set<AppUser> = []
        /// It changed a row whose app or user is not an id of Herald's: every page goes.
        var changedUnknown = false
    }

    /// Past this many bytes of pages in all, the cache starts again empty.
    let limit: Int
    private let state = Mutex(State())

    init(limit: Int = 64 << 20) {
        precondition(limit > 0)
        self.limit = limit
    }

    /// The page kept for this query, if nothing it was made from changed and none of its items expired
    /// by `now` (milliseconds).
    func page(of user: AppUser, query: Query, now: Int64) -> [UInt8]? {
        state.withLock { state in
            guard let page = state.pages[user]?[query] else { return nil }
            if let validUntil = page.validUntil, now >= validUntil { return nil }
            return page.json
        }
    }

    /// The generation a read starts in (take it before the read's first statement); pass it to `keep`.
    func generation() -> UInt64 {
        state.withLock { $0.generation }
    }

    /// Keeps a page, unless a change was committed since its read began.
    func keep(_ json: [UInt8], of user: AppUser, query: Query, validUntil: Int64?, readIn generation: UInt64) {
        guard json.count <= limit else { return }
        state.withLock { state in
            guard state.generation == generation else { return }
            if let replaced = state.pages[user]?[query] { state.bytes -= replaced.json.count }
            if state.bytes + json.count > limit {
                state.pages.removeAll()
                state.bytes = 0
            }
            state.pages[user, default: [:]][query] = Page(json: json, validUntil: validUntil)
            state.bytes += json.count
        }
    }

    /// Forgets the customers' pages and starts a new generation.
    func forget(_ users: some Sequence<AppUser>) {
        state.withLock { state in
            state.generation &+= 1
            for user in users {
                guard let pages = state.pages.removeValue(forKey: user) else { continue }
                state.bytes -= pages.values.reduce(0) { $0 + $1.json.count }
            }
        }
    }

    /// Forgets every page and starts a new generation.
    func forgetAll() {
        state.withLock { state in
            state.generation &+= 1
            state.pages.removeAll()
            state.bytes = 0
        }
    }

    /// How many bytes of pages are kept (for tests).
    var keptBytes: Int { state.withLock { $0.bytes } }

    // MARK: the writer's side

    /// The SQL function the triggers call with each changed row's app and user.
    static let functionName = "herald_inbox_changed"

    /// Registers the function and the triggers on the writer connection: temporary, so they are part of
    /// this process, never of the file (a backup, a copy or another process does not see them).
    func install(on db: Database) throws {
        db.add(
            function: DatabaseFunction(Self.functionName, argumentCount: 2, pure: false) { [self] values in
                if let app = AppID.fromDatabaseValue(values[0]), let user = UserID.fromDatabaseValue(values[1]) {
                    state.withLock { _ = $0.changed.insert(AppUser(app: app, user: user)) }
                } else {
                    // Not Herald's ids: nobody's page can be told apart, so none is kept.
                    state.withLock { $0.changedUnknown = true }
                }
                return nil
            })
        let call = Self.functionName
        try db.execute(
            sql: """
                CREATE TEMP TRIGGER IF NOT EXISTS herald_inboxItem_inserted AFTER INSERT ON main.inboxItem
                BEGIN SELECT \(call)(NEW.appID, NEW.userID); END;
                CREATE TEMP TRIGGER IF NOT EXISTS herald_inboxItem_updated AFTER UPDATE ON main.inboxItem
                BEGIN SELECT \(call)(OLD.appID, OLD.userID), \(call)(NEW.appID, NEW.userID); END;
                CREATE TEMP TRIGGER IF NOT EXISTS herald_inboxItem_deleted AFTER DELETE ON main.inboxItem
                BEGIN SELECT \(call)(OLD.appID, OLD.userID); END;
                """)
    }

    /// The observer that forgets, when the writer's transaction commits, the pages of the customers the
    /// triggers named during it.
    var watch: some TransactionObserver { Watch(pages: self) }

    private final class Watch: TransactionObserver, Sendable {
        let pages: InboxPages
        init(pages: InboxPages) { self.pages = pages }

        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { eventKind.tableName.lowercased() == "inboxitem" }
        func databaseDidChange(with event: DatabaseEvent) {}

        func databaseDidCommit(_ db: Database) {
            pages.state.withLock { state in
                guard !state.changed.isEmpty || state.changedUnknown else { return }
                state.generation &+= 1
                if state.changedUnknown {
                    state.pages.removeAll()
                    state.bytes = 0
                } else {
                    for user in state.changed {
                        guard let pages = state.pages.removeValue(forKey: user) else { continue }
                        state.bytes -= pages.values.reduce(0) { $0 + $1.json.count }
                    }
                }
                state.changed.removeAll(keepingCapacity: true)
                state.changedUnknown = false
            }
        }

        func databaseDidRollback(_ db: Database) {
            pages.state.withLock { state in
                state.changed.removeAll(keepingCapacity: true)
                state.changedUnknown = false
            }
        }
    }
}
