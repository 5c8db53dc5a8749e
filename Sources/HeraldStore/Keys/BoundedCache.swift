import Synchronization

/// A dictionary with a size bound, safe to share between threads.
///
/// When full, the oldest half of the entries (by insertion) is dropped: a cheap policy that keeps the
/// recently added keys, which is what a burst of traffic for one set of users needs. Hand-written
/// because none of the allowed packages offers a bounded cache.
final class BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct State {
        var values: [Key: Value] = [:]
        var order: [Key] = []
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        precondition(limit > 0)
        self.limit = limit
    }

    subscript(key: Key) -> Value? {
        state.withLock { $0.values[key] }
    }

    func insert(_ value: Value, for key: Key) {
        state.withLock { state in
            if state.values.updateValue(value, forKey: key) != nil { return }
            state.order.append(key)
            if state.values.count > limit {
                let drop = state.values.count / 2
                for key in state.order.prefix(drop) { state.values[key] = nil }
                state.order.removeFirst(drop)
            }
        }
    }

    func remove(_ key: Key) {
        state.withLock { state in
            guard state.values.removeValue(forKey: key) != nil else { return }
            state.order.removeAll { $0 == key }
        }
    }

    func removeAll() {
        state.withLock { $0 = State() }
    }

    var count: Int { state.withLock { $0.values.count } }
}
