import GRDB
import HeraldCore
import Synchronization

/// The newest messages of active channels, as the wire's JSON, filled by the message writer as it
/// commits: the pages customers read when they open a conversation are then written from memory,
/// with no read of the database and no message opened (issue 20, "keep recently written messages
/// opened in a bounded cache filled by the writer").
///
/// Each channel has a window: its messages from some seq up to its last one, without a gap. A page
/// is served from the window only when the window holds every message the page shows and answers
/// whether there are more; otherwise the page is read from the database as before.
///
/// Why the window's end is the channel's end: every message created is committed by the one writer
/// (SQLite; this process holds the directory's lock), which adds it here right after its commit and
/// before anyone is told of it. Anything else that changes a message (an edit, a delete, an erasure
/// that shreds its content, retention, a channel deleted) is an update or delete of `message`, `user`
/// or `channel` rows: a `CommitWatch` sees it and, when it commits, everything here is forgotten,
/// before that write returns. A batch committed in an earlier generation than the current
/// one adds nothing (a forgetting came between its commit and its addition), so no window gets a hole.
///
/// Bounded twice: a window keeps at most `perChannel` messages, and all windows together at most
/// `budget` bytes, the least recently written channels dropped first. Content is in memory in clear,
/// as it is in every page the server writes and as the data keys are (`docs/security.md`, "Caches").
/// PostgreSQL keeps no such cache: there every node writes.
final class RecentMessages: Sendable {
    private struct Window {
        var first: Int64
        var messages: [[UInt8]] = []
        var bytes = 0
        var touched: UInt64 = 0

        var last: Int64 { first + Int64(messages.count) - 1 }
    }

    private struct State {
        var generation: UInt64 = 0
        var windows: [ChannelID: Window] = [:]
        var bytes = 0
        var clock: UInt64 = 0
    }

    let perChannel: Int
    let budget: Int
    private let state = Mutex(State())

    /// - Parameters:
    ///   - perChannel: messages kept per channel (20 pages of 50 by default).
    ///   - budget: bytes of JSON kept in all (64 MiB: some 200,000 messages).
    init(perChannel: Int = 1_000, budget: Int = 64 << 20) {
        precondition(perChannel >= Limits.pageSize && budget > 0)
        self.perChannel = perChannel
        self.budget = budget
    }

    /// The generation a batch is committed in; pass it to `add` with what it committed.
    func generation() -> UInt64 {
        state.withLock { $0.generation }
    }

    /// Adds the messages a batch created, in commit order, unless a forgetting came since `generation`.
    func add(_ committed: [CommittedMessage], writtenIn generation: UInt64) {
        let created = committed.lazy.filter { $0.change == .created }.map { message in
            var writer = FrameWriter(capacity: 320)
            writer.write(message.message)
            return (message.message.channelId, message.message.seq, writer.bytes)
        }
        guard !created.isEmpty else { return }
        let written = Array(created)
        state.withLock { state in
            guard state.generation == generation else { return }
            state.clock &+= 1
            for (channel, seq, bytes) in written {
                var window = state.windows.removeValue(forKey: channel) ?? Window(first: seq)
                if window.messages.isEmpty || seq != window.last + 1 {
                    state.bytes -= window.bytes
                    window = Window(first: seq)
                }
                window.messages.append(bytes)
                window.bytes += bytes.count
                state.bytes += bytes.count
                if window.messages.count >= 2 * perChannel {
                    let dropped = window.messages.count - perChannel
                    let droppedBytes = window.messages[..<dropped].reduce(0) { $0 + $1.count }
                    window.messages.removeFirst(dropped)
                    window.first += Int64(dropped)
                    window.bytes -= droppedBytes
                    state.bytes -= droppedBytes
                }
                window.touched = state.clock
                state.windows[channel] = window
            }
            if state.bytes > budget { Self.evict(&state, downTo: budget / 4 * 3) }
        }
    }

    /// Drops the least recently written windows until at most `target` bytes are kept.
    private static func evict(_ state: inout State, downTo target: Int) {
        for (channel, window) in state.windows.sorted(by: { $0.value.touched < $1.value.touched }) {
            guard state.bytes > target else { return }
            state.windows[channel] = nil
            state.bytes -= window.bytes
        }
    }

    /// The page of `channel` that `query` asks for (`MessagePage`'s JSON, as `HistoryPageWriter` writes
    /// it), when the channel's window holds all of it; nil otherwise. Who may read the channel is the
    /// caller's to check first.
    func page(of channel: ChannelID, query: HistoryQuery) -> [UInt8]? {
        guard (1...Limits.pageSize).contains(query.limit), (query.after ?? 0) >= 0, (query.before ?? 1) >= 1,
            (query.after ?? 0) <= Limits.maxSeq, (query.before ?? 1) <= Limits.maxSeq
        else { return nil }
        let limit = Int64(query.limit)
        return state.withLock { state -> [UInt8]? in
            guard let window = state.windows[channel] else { return nil }
            let (first, last) = (window.first, window.last)
            let seqs: ClosedRange<Int64>
            let hasMore: Bool
            if let after = query.after {
                // Forwards from after + 1: every seq up to the channel's last is in the window.
                let end = min(query.before.map { $0 - 1 } ?? last, last)
                guard after + 1 >= first else { return nil }
                guard after < end else { return Self.page(of: [], hasMore: false) }
                seqs = (after + 1)...min(after + limit, end)
                hasMore = seqs.upperBound < end
            } else {
                // Backwards from before - 1: the newest `limit` at or below it.
                let top = min(query.before.map { $0 - 1 } ?? last, last)
                guard top >= 1 else { return Self.page(of: [], hasMore: false) }
                guard top >= first else { return nil }
                let lowest = top - limit + 1
                if lowest > first {
                    hasMore = true
                } else if first == 1 {
                    hasMore = false  // seqs start at 1: nothing is older than this window
                } else {
                    return nil  // the page reaches the window's start: whether anything is older is not known here
                }
                seqs = max(lowest, first)...top
            }
            let offset = Int(seqs.lowerBound - first)
            return Self.page(of: window.messages[offset..<(offset + seqs.count)], hasMore: hasMore)
        }
    }

    private static func page(of messages: ArraySlice<[UInt8]>, hasMore: Bool) -> [UInt8] {
        var writer = FrameWriter(capacity: 32 + messages.reduce(0) { $0 + $1.count + 1 })
        writer.raw(#"{"messages":["#)
        for (index, message) in messages.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw(json: message)
        }
        writer.raw(hasMore ? #"],"hasMore":true}"# : #"],"hasMore":false}"#)
        return writer.bytes
    }

    /// Forgets every window and starts a new generation.
    func forgetAll() {
        state.withLock { state in
            state.generation &+= 1
            state.windows.removeAll()
            state.bytes = 0
        }
    }

    /// What forgets every window as it commits (its `CommitWatch`): a message updated (edited, deleted,
    /// its content shredded by an erasure) or deleted (retention, a channel's cascade), a user or a
    /// channel deleted. Not an insert: the writer adds what it creates itself.
    static let watches: @Sendable (DatabaseEventKind) -> Bool = { event in
        switch event {
        case .insert: false
        case .update(let table, _): table.lowercased() == "message"
        case .delete(let table): ["message", "user", "channel"].contains(table.lowercased())
        }
    }
}
