import GRDB
import HeraldCore
import Synchronization

/// What the SQLite store has read of a few tables, kept so that the hottest checks cost no database
/// read: a user token's epoch (every request and socket that carries one; that read was a seventh of a
/// socket's connect, issue 19), who may read a channel (every history page, issue 20).
///
/// Correct because this process is the database's only writer (the data directory's lock; the
/// writer's channel memory and the key ring rely on the same). A `CommitWatch` on the writer sees
/// every statement that changes a table the cache `watches`, and when such a transaction commits,
/// everything is forgotten, before the write that made the change returns to its caller. A
/// read that raced with that commit cannot put an old value back: each forgetting starts a new
/// generation, and a read stores what it found only under the generation it started in. Only what
/// exists is remembered (no negative entries).
///
/// The CLI commands that open a live server's database without the lock (`apps`, `audit`, `backup`)
/// never write users, epochs, channels or members; a command that did would have to go through the
/// server. That is why API keys are not kept here: `herald apps rotate-key` writes them beside a
/// running server, and the old key must stop working at once. PostgreSQL keeps no such caches: there
/// every node writes.
final class ObservedTableCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var values: [Key: Value] = [:]
        var cost = 0
    }

    /// Past this cost in all, the cache starts again empty (the next check of each reads once).
    let limit: Int
    /// What a value counts against `limit` (1 by default: a number of entries).
    private let cost: @Sendable (Value) -> Int
    /// Whether a statement's event changes what the cache holds (for its `CommitWatch`). It sees every
    /// statement of the writer (GRDB's `observes(eventsOfKind:)`), so it must be cheap.
    let watches: @Sendable (DatabaseEventKind) -> Bool
    private let state = Mutex(State())

    init(limit: Int, cost: @escaping @Sendable (Value) -> Int = { _ in 1 }, watches: @escaping @Sendable (DatabaseEventKind) -> Bool) {
        precondition(limit > 0)
        self.limit = limit
        self.cost = cost
        self.watches = watches
    }

    /// The value last read for `key`, if nothing it depends on changed since; nil when not known.
    func value(for key: Key) -> Value? {
        state.withLock { $0.values[key] }
    }

    /// The generation a read starts in; pass it to `remember` with what the read found.
    func generation() -> UInt64 {
        state.withLock { $0.generation }
    }

    /// Keeps what a read found, unless a change committed since that read began.
    func remember(_ value: Value, for key: Key, readIn generation: UInt64) {
        let added = cost(value)
        state.withLock { state in
            guard state.generation == generation, added <= limit else { return }
            if let replaced = state.values[key] { state.cost -= cost(replaced) }
            if state.cost + added > limit {
                state.values.removeAll()
                state.cost = 0
            }
            state.values[key] = value
            state.cost += added
        }
    }

    /// Forgets everything and starts a new generation.
    func forgetAll() {
        state.withLock { state in
            state.generation &+= 1
            state.values.removeAll()
            state.cost = 0
        }
    }

}

/// A user of an app: the key of the token epochs' cache.
struct AppUser: Hashable, Sendable {
    var app: AppID
    var user: UserID
}

extension ObservedTableCache where Key == AppUser, Value == String {
    /// The users' token epochs: any change to `userTokenEpoch` (a new user's epoch, a revocation, an
    /// erasure) or delete of a `user`. At most 200,000 users (about 150 bytes each: some 30 MB, ten
    /// times the sockets a node holds at its open-file limit).
    static func tokenEpochs(limit: Int = 200_000) -> ObservedTableCache {
        ObservedTableCache(limit: limit) { event in
            switch event {
            case .insert(let table), .update(let table, _): table.lowercased() == "usertokenepoch"
            case .delete(let table): ["usertokenepoch", "user"].contains(table.lowercased())
            }
        }
    }
}

/// Who may read a channel: its app and its members.
struct ChannelReaders: Sendable {
    var app: AppID
    var members: Set<UserID>
}

extension ObservedTableCache where Key == ChannelID, Value == ChannelReaders {
    /// Channels' readers: a channel deleted, a membership added, removed or changed (a read position
    /// moving is not a change). Not the updates of `channel` every message makes (its last seq and
    /// activity): a channel's app never changes. Bounded by the members held in all, not by channels
    /// (a tenant's thousand-member groups must not fill memory): 500,000 of at most 128 bytes, some
    /// 30 MB with ids of a usual size and under 100 MB with the longest.
    static func channelReaders(limit: Int = 500_000) -> ObservedTableCache {
        ObservedTableCache(limit: limit, cost: { 1 + $0.members.count }) { event in
            switch event {
            case .insert(let table): table.lowercased() == "channelmember"
            case .delete(let table): ["channel", "channelmember"].contains(table.lowercased())
            case .update(let table, let columns):
                switch table.lowercased() {
                case "channelmember": columns.contains { $0.lowercased() != "lastreadseq" }
                case "channel": columns.contains { ["id", "appid"].contains($0.lowercased()) }
                default: false
                }
            }
        }
    }
}
