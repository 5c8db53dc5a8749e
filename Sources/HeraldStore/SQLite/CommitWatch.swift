import GRDB
import Synchronization

/// A GRDB transaction observer on the writer that calls `forget` when a transaction that changed
/// something `watches` accepts commits, before the write that made the change returns to its caller:
/// how the SQLite store's in-memory caches (`ObservedTableCache`, `RecentMessages`) stay true to the
/// file this process alone writes.
///
/// SQLite's authorizer tells GRDB which tables and columns a statement changes (foreign-key cascades
/// included), so statements on other tables cost nothing here. A change in a transaction that rolls
/// back forgets nothing.
final class CommitWatch: TransactionObserver, Sendable {
    private let watches: @Sendable (DatabaseEventKind) -> Bool
    private let forget: @Sendable () -> Void
    /// A statement of the current write transaction changed what is watched.
    private let changed = Atomic(false)

    init(watching watches: @escaping @Sendable (DatabaseEventKind) -> Bool, forget: @escaping @Sendable () -> Void) {
        self.watches = watches
        self.forget = forget
    }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { watches(eventKind) }

    func databaseDidChange() { changed.store(true, ordering: .releasing) }
    func databaseDidChange(with event: DatabaseEvent) { changed.store(true, ordering: .releasing) }

    func databaseDidCommit(_ db: Database) {
        if changed.exchange(false, ordering: .acquiringAndReleasing) { forget() }
    }

    func databaseDidRollback(_ db: Database) {
        changed.store(false, ordering: .releasing)
    }
}
