import HeraldCore
import HeraldStore
import Logging
import ServiceLifecycle
import Synchronization

/// Stores the read positions that `read` frames report, coalesced: a frame only records "this user has
/// read this channel up to here" and returns; one loop writes everything recorded since its last
/// write in a single transaction, then tells the channels' members.
///
/// A client reports a position per message it shows, so a scrolled conversation sends dozens of
/// `read` frames a second; written one by one, each was its own fsync'd transaction on the single
/// writer. Now repeated marks of one channel collapse into one (the highest wins), and every user's
/// marks share one commit. A `read` frame is not acknowledged, so nothing waits for the write.
///
/// Bounded: at most `maxPending` distinct (user, channel) marks wait; beyond that new ones are dropped
/// (the client reports its position again with its next read).
final class ReadPositionWriter: Service, Sendable {
    private struct Key: Hashable {
        var app: AppID
        var channel: ChannelID
        var user: UserID
    }

    private struct Pending {
        var seq: Int64
        /// Who hears of the move: the channel's members when the frame was checked.
        var members: [UserID]
    }

    /// Marks written per transaction, so one write never holds the writer long.
    static let batchSize = 1_000
    let maxPending: Int
    private let store: any ChannelStore
    private let hub: Hub
    private let logger: Logger
    private let pending = Mutex<[Key: Pending]>([:])
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(store: any ChannelStore, hub: Hub, maxPending: Int = 100_000, logger: Logger) {
        self.store = store
        self.hub = hub
        self.maxPending = maxPending
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Records a mark (the caller has checked that the user may read the channel); false when too
    /// many are waiting already.
    @discardableResult
    func submit(_ mark: ReadMark, members: [UserID]) -> Bool {
        let key = Key(app: mark.app, channel: mark.channel, user: mark.user)
        let accepted = pending.withLock { pending -> Bool in
            if var existing = pending[key] {
                existing.seq = max(existing.seq, mark.seq)
                existing.members = members
                pending[key] = existing
                return true
            }
            guard pending.count < maxPending else { return false }
            pending[key] = Pending(seq: mark.seq, members: members)
            return true
        }
        if accepted { wake.yield() }
        return accepted
    }

    func run() async throws {
        for await _ in wakeups.cancelOnGracefulShutdown() {
            // A batch that failed (the database away) waits a second, then goes again.
            while await !flush(), !Task.isCancelled, !Task.isShuttingDownGracefully {
                try? await Task.sleep(for: .seconds(1))
            }
        }
        // What was recorded before the stop is still written.
        await flush()
    }

    /// Writes everything recorded so far, in batches; false when a batch failed (its marks are kept,
    /// unless newer ones for the same user and channel came meanwhile).
    @discardableResult
    func flush() async -> Bool {
        while true {
            let batch = pending.withLock { pending -> [(Key, Pending)] in
                let taken = Array(pending.prefix(Self.batchSize))
                for (key, _) in taken { pending[key] = nil }
                return taken
            }
            guard !batch.isEmpty else { return true }
            let members = Dictionary(batch.map { ($0.0, $0.1.members) }, uniquingKeysWith: { $1 })
            do {
                let moved = try await store.markRead(batch.map { ReadMark(app: $0.0.app, channel: $0.0.channel, user: $0.0.user, seq: $0.1.seq) })
                for (app, position) in moved {
                    let key = Key(app: app, channel: position.channelId, user: position.userId)
                    hub.publish(.read(position), app: app, to: members[key] ?? [])
                }
            } catch {
                logger.warning("read positions not stored yet", metadata: ["marks": "\(batch.count)", "error": "\(String(reflecting: type(of: error)))"])
                pending.withLock { pending in
                    for (key, mark) in batch {
                        if var newer = pending[key] {
                            newer.seq = max(newer.seq, mark.seq)
                            pending[key] = newer
                        } else {
                            pending[key] = mark
                        }
                    }
                }
                return false
            }
        }
    }
}
