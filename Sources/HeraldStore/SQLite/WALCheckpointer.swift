import Dispatch
import GRDB
import Synchronization

/// Copies the WAL back into the database file from a connection of its own, off the commit path.
///
/// By default SQLite checkpoints on the connection that commits once the WAL passes 1,000 pages: the
/// message writer's commit then also copied pages into the database file and fsynced it, which was 8%
/// of the single writer's time at saturation and a stall for every send in that batch (issue 19: "WAL
/// checkpoints inside a commit ... move them off the commit path"). The store turns the writer's
/// automatic checkpoint off, and this checkpointer runs a PASSIVE checkpoint on its own thread each
/// `interval` in which another connection committed (`PRAGMA data_version` moved). PASSIVE neither
/// waits for readers nor blocks the writer: it copies what no reader still needs.
///
/// Under a steady stream of commits a PASSIVE checkpoint never catches up with the writer, and SQLite
/// starts the WAL again from its beginning only once one has: the WAL grew without bound (800 MB in a
/// 15 s `throughput` run), and every commit wrote to newly allocated file pages. So once the WAL holds
/// `restartFrames`, a PASSIVE checkpoint that copied everything is followed by a RESTART one: it
/// waits for the writer's current commit, copies the few frames committed meanwhile while new
/// commits wait (a short pause, not a copy of the whole WAL), and makes the next commit start the WAL
/// again. It waits at most 50 ms for readers still on the WAL, holding the writer's lock.
///
/// The interval is a second: a page the writer changes in many commits (a busy channel's leaf of the
/// message index) is written to the WAL by each of them but copied into the database file once per
/// checkpoint, so a longer interval writes less to the disk (a tenth of a second wrote 16.5–16.8 KB
/// per message in `throughput`, a second 12.6–13.1 KB). A checkpoint runs only at a tick, so the WAL holds up to
/// a second of commits past `restartFrames` (16,384 pages, 64 MiB): about 130 MB at 13,000 messages a
/// second, within the 256 MiB the store keeps the file at (`journal_size_limit`).
///
/// Crash safety is SQLite's: a checkpoint syncs the WAL before copying and the database file after,
/// so stopping the process at any point leaves the WAL to replay at the next open.
final class WALCheckpointer: Sendable {
    private let connection: DatabaseQueue
    private let state: Mutex<State>

    private struct State {
        var dataVersion: Int64?
        var isStopped = false
    }

    /// What a checkpoint reports: its mode, the WAL's size in frames, and the frames copied so far.
    struct Report: Sendable, Equatable {
        enum Mode: Sendable { case passive, restart }
        var mode: Mode
        var walFrames: Int
        var copied: Int
    }

    /// - Parameters:
    ///   - restartFrames: the WAL's size from which a RESTART checkpoint follows the PASSIVE one.
    ///   - onCheckpoint: told of each checkpoint (tests).
    init(
        path: String, durability: Durability, interval: DispatchTimeInterval = .seconds(1), restartFrames: Int = 16_384,
        onCheckpoint: (@Sendable (Report) -> Void)? = nil
    ) throws {
        var configuration = Configuration()
        // A RESTART waits for readers while it holds the writer's lock: it gives up after 50 ms (and
        // is tried again at the next tick) rather than stall every commit behind a long read, such
        // as `herald backup`'s.
        configuration.busyMode = .timeout(0.05)
        configuration.label = "herald.sqlite.checkpointer"
        let connection = try DatabaseQueue(path: path, configuration: configuration)
        try connection.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
        }
        self.connection = connection
        state = Mutex(State())
        Self.schedule(Ticker(connection: connection, interval: interval, restartFrames: restartFrames, onCheckpoint: onCheckpoint, checkpointer: self))
    }

    /// What each tick needs; holds the checkpointer weakly, so the store's release stops the ticks.
    private struct Ticker: Sendable {
        let connection: DatabaseQueue
        let interval: DispatchTimeInterval
        let restartFrames: Int
        let onCheckpoint: (@Sendable (Report) -> Void)?
        weak var checkpointer: WALCheckpointer?
    }

    private static let queue = DispatchQueue(label: "herald.sqlite.checkpointer", qos: .utility)

    private static func schedule(_ ticker: Ticker) {
        queue.asyncAfter(deadline: .now() + ticker.interval) {
            guard let checkpointer = ticker.checkpointer, checkpointer.tick(ticker) else { return }
            schedule(ticker)
        }
    }

    deinit { stop() }

    /// Stops the timer and waits for a checkpoint in progress; idempotent.
    func stop() {
        let wasStopped = state.withLock { state in
            defer { state.isStopped = true }
            return state.isStopped
        }
        guard !wasStopped else { return }
        // The connection serializes with a tick in progress: once this returns, none runs.
        try? connection.close()
    }

    /// One checkpoint if another connection committed since the last; false once stopped.
    private func tick(_ ticker: Ticker) -> Bool {
        guard !state.withLock({ $0.isStopped }) else { return false }
        // A checkpoint that failed (the disk, a lock held past the busy timeout) or did not copy the
        // whole WAL is tried again at the next tick after a commit; while nothing is committed the
        // WAL keeps what is left (every committed frame is in it, and the close checkpoints it).
        _ = try? connection.writeWithoutTransaction { db in
            let version = try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0
            let changed = state.withLock { state in
                defer { state.dataVersion = version }
                return state.dataVersion != version
            }
            guard changed else { return }
            guard let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)") else { return }
            let report = Report(mode: .passive, walFrames: row[1] ?? 0, copied: row[2] ?? 0)
            let isBusy = (row[0] ?? 0) != 0
            ticker.onCheckpoint?(report)
            if !isBusy, report.walFrames >= ticker.restartFrames, report.copied == report.walFrames,
                let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(RESTART)")
            {
                ticker.onCheckpoint?(Report(mode: .restart, walFrames: row[1] ?? 0, copied: row[2] ?? 0))
            }
        }
        return true
    }
}
