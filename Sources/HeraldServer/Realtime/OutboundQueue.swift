import NIOCore
import NIOWebSocket
import Synchronization

/// What one WebSocket has yet to write: frames offered and not yet written to the kernel, and how
/// the connection ends. The socket's `RealtimeHandler` drains it on the channel's event loop.
///
/// Fan-out must never wait for a slow client, so the hub only *offers* frames (`offer`, which never
/// blocks). When a client stops reading, its frames pile up here (the kernel's buffers full, NIO's
/// write buffer growing), and the next offer beyond the bound closes the connection with 1008
/// instead of growing memory or slowing the channel for the others. The connection's own replies
/// (acks, sync pages) use `send`, which waits while the queue is more than half full, so a large
/// `sync` is paced by the client's reading speed rather than overflowing the queue.
///
/// Bounded twice: in frames and in bytes (a frame is 40 bytes of `typing` or 64 KiB of message,
/// so a bound in frames alone let one socket hold about 64 MB). A frame counts from its offer until
/// NIO reports it written to the socket, so the bound covers NIO's write buffer too.
///
/// A class with a `Mutex` rather than an actor: `offer` is called synchronously, in commit order, from
/// the store's observer, and an actor hop per recipient would lose that order and cost a task switch.
/// The handler is woken (`wake`) once when work arrives for an idle queue, not once per frame.
final class OutboundQueue: Sendable {
    /// What the handler writes in one pass: frames in order, then the close when it is due.
    struct Batch {
        var frames: [ByteBuffer] = []
        var bytes = 0
        var close: (code: WebSocketErrorCode, reason: String)?
    }

    private struct State {
        var pending: [ByteBuffer] = []
        var pendingBytes = 0
        /// Offered and not yet reported written: `pending` and what the handler has taken.
        var unwrittenFrames = 0
        var unwrittenBytes = 0
        var closing: (code: WebSocketErrorCode, reason: String)?
        var closeTaken = false
        /// The socket is gone: nothing is written any more.
        var ended = false
        /// The handler has been woken and has not taken the work yet.
        var wakePending = false
        var roomWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    let limit: Int
    let byteLimit: Int
    private let state = Mutex(State())
    private let wake: @Sendable () -> Void

    /// - Parameter wake: called (outside the lock) when work arrives for an idle queue; the handler
    ///   then calls `take` on its event loop.
    init(limit: Int, byteLimit: Int = .max, wake: @escaping @Sendable () -> Void = {}) {
        self.limit = limit
        self.byteLimit = byteLimit
        self.wake = wake
    }

    /// Offers a frame without waiting. Returns false when the connection is closing, or when the queue
    /// was full (in frames or bytes): then the connection is closed with 1008 (policy violation, slow consumer).
    @discardableResult
    func offer(_ frame: ByteBuffer) -> Bool {
        let size = frame.readableBytes
        let (accepted, wakes, waiters) = state.withLock { state -> (Bool, Bool, [CheckedContinuation<Void, Never>]) in
            guard state.closing == nil else { return (false, false, []) }
            if state.unwrittenFrames >= limit || state.unwrittenBytes + size > byteLimit {
                Self.dropPending(&state)
                state.closing = (.policyViolation, "slow consumer")
                return (false, Self.claimWake(&state), Self.takeRoomWaiters(&state))
            }
            state.pending.append(frame)
            state.pendingBytes += size
            state.unwrittenFrames += 1
            state.unwrittenBytes += size
            return (true, Self.claimWake(&state), [])
        }
        for waiter in waiters { waiter.resume() }
        if wakes { wake() }
        return accepted
    }

    /// Queues a frame of the connection's own, waiting while the queue is more than half full (in
    /// frames or bytes). Returns false when the connection is closing or the task is cancelled: a
    /// reply whose socket is gone must not wait for room that never comes.
    @discardableResult
    func send(_ frame: ByteBuffer) async -> Bool {
        while true {
            guard !Task.isCancelled else { return false }
            let isFull = state.withLock { $0.closing == nil && isHalfFull($0) }
            guard isFull else { break }
            let id = state.withLock { state in
                defer { state.nextWaiter += 1 }
                return state.nextWaiter
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let resumeNow = state.withLock { state -> Bool in
                        guard state.closing == nil, isHalfFull(state), !Task.isCancelled else { return true }
                        state.roomWaiters[id] = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                state.withLock { $0.roomWaiters.removeValue(forKey: id) }?.resume()
            }
        }
        return offer(frame)
    }

    private func isHalfFull(_ state: State) -> Bool {
        state.unwrittenFrames >= limit / 2 || state.unwrittenBytes >= byteLimit / 2
    }

    /// Closes the connection after the frames already queued (or at once, dropping them, when
    /// `discardingPending`). The first close wins.
    func close(_ code: WebSocketErrorCode, reason: String, discardingPending: Bool = false) {
        let (wakes, waiters) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
            // Whoever waits for room goes on in any case: a closing queue never makes room.
            guard state.closing == nil else { return (false, Self.takeRoomWaiters(&state)) }
            if discardingPending { Self.dropPending(&state) }
            state.closing = (code, reason)
            return (Self.claimWake(&state), Self.takeRoomWaiters(&state))
        }
        for waiter in waiters { waiter.resume() }
        if wakes { wake() }
    }

    /// The socket is gone (closed or reset): drops what is queued, fails every later offer and wakes
    /// whoever waits for room.
    func ended() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.ended = true
            Self.dropPending(&state)
            state.unwrittenFrames = 0
            state.unwrittenBytes = 0
            if state.closing == nil { state.closing = (.goingAway, "connection lost") }
            state.closeTaken = true
            return Self.takeRoomWaiters(&state)
        }
        for waiter in waiters { waiter.resume() }
    }

    var isClosing: Bool { state.withLock { $0.closing != nil } }

    /// Bytes offered and not yet written to the socket (for tests and metrics).
    var queuedBytes: Int { state.withLock { $0.unwrittenBytes } }

    /// Replies waiting for room right now (for tests).
    var waitingForRoom: Int { state.withLock { $0.roomWaiters.count } }

    /// What to write now (on the event loop): the pending frames, and the close once they are all
    /// taken. An empty batch when there is nothing (more) to do.
    func take() -> Batch {
        state.withLock { state in
            state.wakePending = false
            guard !state.ended else { return Batch() }
            var batch = Batch(frames: state.pending, bytes: state.pendingBytes)
            state.pending.removeAll(keepingCapacity: false)
            state.pendingBytes = 0
            if let closing = state.closing, !state.closeTaken {
                state.closeTaken = true
                batch.close = closing
            }
            return batch
        }
    }

    /// The handler wrote `frames` frames of `bytes` bytes to the socket: that much room is free again.
    func written(frames: Int, bytes: Int) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.ended else { return [] }
            state.unwrittenFrames -= frames
            state.unwrittenBytes -= bytes
            return isHalfFull(state) ? [] : Self.takeRoomWaiters(&state)
        }
        for waiter in waiters { waiter.resume() }
    }

    private static func dropPending(_ state: inout State) {
        state.unwrittenFrames -= state.pending.count
        state.unwrittenBytes -= state.pendingBytes
        state.pending.removeAll()
        state.pendingBytes = 0
    }

    /// True when the handler must be woken: there is work and no wake is outstanding.
    private static func claimWake(_ state: inout State) -> Bool {
        guard !state.wakePending, !state.ended else { return false }
        state.wakePending = true
        return true
    }

    private static func takeRoomWaiters(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        defer { state.roomWaiters = [:] }
        return Array(state.roomWaiters.values)
    }
}
