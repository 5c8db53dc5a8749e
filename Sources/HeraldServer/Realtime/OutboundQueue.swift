import NIOWebSocket
import Synchronization

/// The bounded queue of frames waiting to be written to one WebSocket.
///
/// Fan-out must never wait for a slow client, so the hub only *offers* frames (`offer`, which never
/// blocks). When a client stops reading, its queue fills, and the next offer closes the connection with
/// 1008 instead of growing memory or slowing the channel for the others. The connection's own replies
/// (acks, sync pages) use `send`, which waits for room, so a large `sync` is paced by the client's
/// reading speed rather than overflowing the queue.
///
/// The queue is bounded twice: in frames and in bytes (the size of a frame varies from a 40-byte
/// `typing` to a 64 KiB message, so a bound in frames alone let one socket hold about 64 MB).
///
/// A class with a `Mutex` rather than an actor: `offer` is called synchronously, in commit order, from
/// the store's observer, and an actor hop per recipient would lose that order and cost a task switch.
final class OutboundQueue: Sendable {
    enum Item: Sendable {
        case frame(String)
        case close(WebSocketErrorCode, reason: String)
    }

    private struct State {
        var frames: [String] = []
        var head = 0
        var bytes = 0
        var closing: (code: WebSocketErrorCode, reason: String)?
        var closeSent = false
        var reader: CheckedContinuation<Item?, Never>?
        var roomWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
        var count: Int { frames.count - head }
    }

    let limit: Int
    let byteLimit: Int
    private let state = Mutex(State())

    init(limit: Int, byteLimit: Int = .max) {
        self.limit = limit
        self.byteLimit = byteLimit
    }

    /// Offers a frame without waiting. Returns false when the connection is closing, or when the queue
    /// was full (in frames or bytes): then the connection is closed with 1008 (policy violation, slow consumer).
    @discardableResult
    func offer(_ frame: String) -> Bool {
        let size = frame.utf8.count
        let (accepted, reader, item, waiters) = state.withLock {
            state -> (Bool, CheckedContinuation<Item?, Never>?, Item?, [CheckedContinuation<Void, Never>]) in
            guard state.closing == nil else { return (false, nil, nil, []) }
            if let reader = state.reader {
                state.reader = nil
                return (true, reader, .frame(frame), [])
            }
            if state.count >= limit || state.bytes + size > byteLimit {
                state.frames.removeAll()
                state.head = 0
                state.bytes = 0
                state.closing = (.policyViolation, "slow consumer")
                let (reader, item) = Self.wakeReader(&state)
                return (false, reader, item, Self.takeRoomWaiters(&state))
            }
            state.frames.append(frame)
            state.bytes += size
            return (true, nil, nil, [])
        }
        reader?.resume(returning: item)
        for waiter in waiters { waiter.resume() }
        return accepted
    }

    /// Queues a frame of the connection's own, waiting while the queue is more than half full (in
    /// frames or bytes). Returns false when the connection is closing or the task is cancelled: a
    /// reader whose writer is gone must not wait for room that never comes.
    @discardableResult
    func send(_ frame: String) async -> Bool {
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
        state.count >= limit / 2 || state.bytes >= byteLimit / 2
    }

    /// Closes the connection after the frames already queued (or at once, dropping them, when
    /// `discardingPending`). The first close wins.
    func close(_ code: WebSocketErrorCode, reason: String, discardingPending: Bool = false) {
        let (reader, item, waiters) = state.withLock { state -> (CheckedContinuation<Item?, Never>?, Item?, [CheckedContinuation<Void, Never>]) in
            // Whoever waits for room goes on in any case: a closing queue never makes room.
            guard state.closing == nil else { return (nil, nil, Self.takeRoomWaiters(&state)) }
            if discardingPending {
                state.frames.removeAll()
                state.head = 0
                state.bytes = 0
            }
            state.closing = (code, reason)
            let waiters = Self.takeRoomWaiters(&state)
            let (reader, item) = Self.wakeReader(&state)
            return (reader, item, waiters)
        }
        reader?.resume(returning: item)
        for waiter in waiters { waiter.resume() }
    }

    /// The writer is gone (the socket failed or was reset): drops what is queued, fails every later
    /// offer and wakes whoever waits for room.
    func writerEnded() {
        close(.goingAway, reason: "connection lost", discardingPending: true)
    }

    var isClosing: Bool { state.withLock { $0.closing != nil } }

    /// Bytes waiting to be written (for tests and metrics).
    var queuedBytes: Int { state.withLock { $0.bytes } }

    /// The next thing for the writer to do; nil once the close has been handed out (or on cancellation).
    func next() async -> Item? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> (Bool, Item?, [CheckedContinuation<Void, Never>]) in
                    if let item = Self.nextItem(&state) {
                        let waiters = isHalfFull(state) ? [] : Array(state.roomWaiters.values)
                        if !waiters.isEmpty { state.roomWaiters = [:] }
                        return (true, item, waiters)
                    }
                    if state.closeSent || Task.isCancelled { return (true, nil, []) }
                    state.reader = continuation
                    return (false, nil, [])
                }
                for waiter in ready.2 { waiter.resume() }
                if ready.0 { continuation.resume(returning: ready.1) }
            }
        } onCancel: {
            let reader = state.withLock { Self.takeReader(&$0) }
            reader?.resume(returning: nil)
        }
    }

    /// The waiting writer, if any, with the item it should get now.
    private static func wakeReader(_ state: inout State) -> (CheckedContinuation<Item?, Never>?, Item?) {
        guard let reader = takeReader(&state) else { return (nil, nil) }
        return (reader, nextItem(&state))
    }

    private static func takeRoomWaiters(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        defer { state.roomWaiters = [:] }
        return Array(state.roomWaiters.values)
    }

    /// Replies waiting for room right now (for tests).
    var waitingForRoom: Int { state.withLock { $0.roomWaiters.count } }

    private static func takeReader(_ state: inout State) -> CheckedContinuation<Item?, Never>? {
        defer { state.reader = nil }
        return state.reader
    }

    private static func nextItem(_ state: inout State) -> Item? {
        if state.count > 0 {
            let frame = state.frames[state.head]
            state.head += 1
            state.bytes -= frame.utf8.count
            if state.head == state.frames.count {
                state.frames.removeAll(keepingCapacity: true)
                state.head = 0
            } else if state.head > 1024 {
                state.frames.removeFirst(state.head)
                state.head = 0
            }
            return .frame(frame)
        }
        if let closing = state.closing, !state.closeSent {
            state.closeSent = true
            return .close(closing.code, reason: closing.reason)
        }
        return nil
    }
}
