import GRDB
import HeraldCore
import NIOCore
import Synchronization

/// Customers' first inbox pages as their responses' JSON, kept so that the next `GET /v1/me/inbox`
/// of the same customer costs no database read, no opening and no signing (issue 20: an app asks for
/// its first page each time it comes to the foreground, reconnects or is pulled to refresh). Pages
/// after a cursor are read each time: they are rarely asked twice, and a customer cycling cursors must
/// not fill the cache.
///
/// A kept page is exactly what the database would give, because it is forgotten the moment anything
/// it was made from changes:
///
/// - **A change to any of the customer's items** (a new item, delivered, read, archived, acted on,
///   signed, released from quiet hours, deleted by retention or erasure). Temporary triggers on the
///   writer connection call `herald_inbox_changed(app, user)` for every row inserted, updated or
///   deleted, foreign-key cascades included, and when the transaction commits, those customers' pages
///   are forgotten, before the write returns to its caller. A fan-out to a segment forgets only its
///   recipients' pages, and other customers' reads meanwhile are still kept.
/// - **Time.** A page is kept until the first of the customer's visible items expires (it leaves the
///   list and the unread count), read from the database with the page.
/// - **A read that raced with a change** never puts an old page back: each customer has a generation
///   (one of `slots` counters, chosen by a hash), advanced as their pages are forgotten, and a page is
///   kept only under the generation its read began in.
///
/// Correct because this process is the database's only writer (the data directory's lock, as for
/// `ObservedTableCache`); the CLI commands that open a live server's database never write inbox items.
/// A row changed by someone writing the file behind Herald's back is not seen until the customer's
/// next change: such a row is never shown from memory that it was not shown from the database before.
///
/// Bounded by bytes (64 MiB by default, about 1,400 first pages of 50 signed items; each page counts
/// `overhead` more for its entry) and by `perCustomer` pages a customer; past the bound it starts
/// again empty. The pages hold opened content in memory, like `RecentMessages` (`docs/security.md`).
final class InboxPages: Sendable {
    /// Where a read began: the cache's epoch and the customer's generation.
    struct Generation: Equatable, Sendable {
        fileprivate var epoch: UInt64
        fileprivate var customer: UInt64
    }

    private struct Page {
        /// Shared with every response that sends it (a `ByteBuffer` is copied only when written to).
        var json: ByteBuffer
        /// The first expiry (milliseconds) among the customer's visible items, when one expires.
        var validUntil: Int64?
    }

    private struct State {
        /// Advanced when everything is forgotten.
        var epoch: UInt64 = 0
        /// Customers' generations, by `slot(of:)`.
        var generations: [UInt64]
        var pages: [AppUser: [InboxQuery: Page]] = [:]
        var bytes = 0
    }

    /// What the writer's current transaction changed (kept apart from `State`: the triggers run for
    /// every row of a fan-out, and must not take the lock that page reads take).
    private struct Changes {
        var customers: Set<AppUser> = []
        /// A row whose app or user is not an id of Herald's: every page goes.
        var unknown = false
    }

    /// Past this many bytes of pages in all, the cache starts again empty.
    let limit: Int
    /// What a kept page counts beyond its bytes (its entry, key and array header).
    static let overhead = 256
    /// At most this many pages (queries) a customer.
    static let perCustomer = 8
    fileprivate static let slots = 4_096
    private let state = Mutex(State(generations: Array(repeating: 0, count: InboxPages.slots)))
    private let changes = Mutex(Changes())

    init(limit: Int = 64 << 20) {
        precondition(limit > 0)
        self.limit = limit
    }

    static func slot(of customer: AppUser) -> Int {
        Int(UInt(bitPattern: customer.hashValue) % UInt(slots))
    }

    /// Whether a page for this query is kept at all (first pages only).
    static func keeps(_ query: InboxQuery) -> Bool { query.cursor == nil }

    /// The page kept for this query, if nothing it was made from changed and none of its items expired
    /// by `now` (milliseconds). An expired page is dropped here.
    func page(of customer: AppUser, query: InboxQuery, now: Int64) -> ByteBuffer? {
        state.withLock { state in
            guard let page = state.pages[customer]?[query] else { return nil }
            if let validUntil = page.validUntil, now >= validUntil {
                state.pages[customer]?[query] = nil
                if state.pages[customer]?.isEmpty == true { state.pages[customer] = nil }
                state.bytes -= Self.cost(page)
                return nil
            }
            return page.json
        }
    }

    /// The generation a read of the customer's page starts in (take it before the read's first
    /// statement); pass it to `keep`.
    func generation(of customer: AppUser) -> Generation {
        state.withLock { Generation(epoch: $0.epoch, customer: $0.generations[Self.slot(of: customer)]) }
    }

    /// Keeps a page, unless the customer's pages were forgotten since its read began.
    func keep(_ json: ByteBuffer, of customer: AppUser, query: InboxQuery, validUntil: Int64?, readIn generation: Generation) {
        guard Self.keeps(query) else { return }
        let page = Page(json: json, validUntil: validUntil)
        let cost = Self.cost(page)
        guard cost <= limit else { return }
        state.withLock { state in
            guard generation == Generation(epoch: state.epoch, customer: state.generations[Self.slot(of: customer)]) else { return }
            var pages = state.pages.removeValue(forKey: customer) ?? [:]
            state.bytes -= pages.values.reduce(0) { $0 + Self.cost($1) }
            if pages.count >= Self.perCustomer, pages[query] == nil { pages.removeAll() }
            pages[query] = page
            var customerCost = pages.values.reduce(0) { $0 + Self.cost($1) }
            if customerCost > limit {
                pages = [query: page]
                customerCost = cost
            }
            if state.bytes + customerCost > limit {
                state.pages.removeAll()
                state.bytes = 0
            }
            state.pages[customer] = pages
            state.bytes += customerCost
        }
    }

    /// Forgets the customers' pages and advances their generations.
    func forget(_ customers: some Sequence<AppUser>) {
        state.withLock { state in
            for customer in customers {
                state.generations[Self.slot(of: customer)] &+= 1
                guard let pages = state.pages.removeValue(forKey: customer) else { continue }
                state.bytes -= pages.values.reduce(0) { $0 + Self.cost($1) }
            }
        }
    }

    /// Forgets every page and starts a new epoch.
    func forgetAll() {
        state.withLock { state in
            state.epoch &+= 1
            state.pages.removeAll()
            state.bytes = 0
        }
    }

    /// How many bytes the kept pages count (for tests).
    var keptBytes: Int { state.withLock { $0.bytes } }

    private static func cost(_ page: Page) -> Int { page.json.readableBytes + overhead }

    // MARK: the writer's side

    /// The SQL function the triggers call with each changed row's app and user.
    static let functionName = "herald_inbox_changed"

    /// Registers the function and the triggers on the writer connection: temporary, so they are part of
    /// this process, never of the file (a backup, a copy or another process does not see them).
    func install(on db: Database) throws {
        db.add(
            function: DatabaseFunction(Self.functionName, argumentCount: 2, pure: false) { [self] values in
                if let app = AppID.fromDatabaseValue(values[0]), let user = UserID.fromDatabaseValue(values[1]) {
                    self.changes.withLock { _ = $0.customers.insert(AppUser(app: app, user: user)) }
                } else {
                    self.changes.withLock { $0.unknown = true }
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

    /// Observes no events (GRDB tells every observer of each commit and rollback anyway): the triggers
    /// say who changed, so GRDB builds no event for each row of a fan-out.
    private final class Watch: TransactionObserver, Sendable {
        let pages: InboxPages
        init(pages: InboxPages) { self.pages = pages }

        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }
        func databaseDidChange(with event: DatabaseEvent) {}

        func databaseDidCommit(_ db: Database) {
            let changed = pages.changes.withLock { changes in
                defer { changes = Changes() }
                return changes
            }
            // Past one customer a slot, every read under way is refused anyway: forget all at once
            // rather than hash a fan-out's recipients under the lock page reads take.
            if changed.unknown || changed.customers.count >= InboxPages.slots {
                pages.forgetAll()
            } else if !changed.customers.isEmpty {
                pages.forget(changed.customers)
            }
        }

        func databaseDidRollback(_ db: Database) {
            pages.changes.withLock { $0 = Changes() }
        }
    }
}
