import GRDB
import HeraldCore
import Synchronization

/// The users' token epochs the SQLite store has read, so that checking a user token (every request
/// and every socket that carries one) costs no database read: that read, with its thread hops, was a
/// seventh of a realtime socket's connect (issue 19).
///
/// Correct because this process is the database's only writer (the data directory's lock; the
/// writer's channel memory and the key ring rely on the same). A GRDB transaction observer on the
/// writer sees every statement that changes `userTokenEpoch` (a new user's epoch, a revocation, an
/// erasure) or deletes a `user`, and when such a transaction commits, every epoch is forgotten, before
/// the write that made the change returns to its caller. A read that raced with that commit cannot
/// put the old epoch back: each forgetting starts a new generation, and a read stores what it found
/// only under the generation it started in. A user who does not exist is never remembered.
///
/// The CLI commands that open a live server's database without the lock (`apps`, `audit`, `backup`)
/// never write users or epochs; a command that revoked or erased would have to go through the server.
/// PostgreSQL keeps no such cache: there every node writes.
final class TokenEpochCache: TransactionObserver, Sendable {
    private struct Key: Hashable {
        var app: AppID
        var user: UserID
    }

    private struct State {
        var generation: UInt64 = 0
        var epochs: [Key: String] = [:]
    }

    /// Past this many users, the cache starts again empty (a user's next check reads once). About
    /// 150 bytes a user: 200,000 is some 30 MB, ten times the sockets a node holds at its open-file limit.
    let limit: Int
    private let state = Mutex(State())
    /// A statement of the current write transaction changed what the cache holds.
    private let changed = Atomic(false)

    init(limit: Int = 200_000) {
        precondition(limit > 0)
        self.limit = limit
    }

    /// The epoch last read for the user, if it is still the current one; nil when not known.
    func epoch(of user: UserID, in app: AppID) -> String? {
        state.withLock { $0.epochs[Key(app: app, user: user)] }
    }

    /// The generation a read starts in; pass it to `remember` with what the read found.
    func generation() -> UInt64 {
        state.withLock { $0.generation }
    }

    /// Keeps the epoch a read found, unless a change committed since that read began.
    func remember(_ epoch: String, of user: UserID, in app: AppID, readIn generation: UInt64) {
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.epochs.count >= limit { state.epochs.removeAll() }
            state.epochs[Key(app: app, user: user)] = epoch
        }
    }

    /// Forgets every epoch and starts a new generation.
    func forgetAll() {
        state.withLock { state in
            state.generation &+= 1
            state.epochs.removeAll()
        }
    }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        switch eventKind {
        case .insert(let table), .update(let table, _): table.lowercased() == "usertokenepoch"
        case .delete(let table): ["usertokenepoch", "user"].contains(table.lowercased())
        }
    }

    func databaseDidChange() { changed.store(true, ordering: .releasing) }
    func databaseDidChange(with event: DatabaseEvent) { changed.store(true, ordering: .releasing) }

    func databaseDidCommit(_ db: Database) {
        if changed.exchange(false, ordering: .acquiringAndReleasing) { forgetAll() }
    }

    func databaseDidRollback(_ db: Database) {
        changed.store(false, ordering: .releasing)
    }
}
