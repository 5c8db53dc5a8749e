import Synchronization

/// A count that tasks wait on: `wait(atLeast:)` returns once `add()` has been called that many times.
/// Scenarios use it to wait until every socket said `ready`, to bound connections in flight, and as a
/// gate that releases every waiter at once (`wait(atLeast: 1)`, opened by one `add()`).
final class Tally: Sendable {
    private struct State {
        var count = 0
        var waiters: [(threshold: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    var count: Int { state.withLock { $0.count } }

    func add() {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.count += 1
            let count = state.count
            let ready = state.waiters.filter { $0.threshold <= count }.map(\.continuation)
            if !ready.isEmpty { state.waiters.removeAll { $0.threshold <= count } }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    func wait(atLeast threshold: Int) async {
        await withCheckedContinuation { continuation in
            let reached = state.withLock { state -> Bool in
                if state.count >= threshold { return true }
                state.waiters.append((threshold, continuation))
                return false
            }
            if reached { continuation.resume() }
        }
    }
}
