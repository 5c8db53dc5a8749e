import Foundation
import HeraldStore
import Synchronization

/// Whether this node should get traffic (`GET /ready`), as load balancers ask: its store answers, its
/// cluster feed listens (on PostgreSQL), and it is not stopping. Shared by the routes, the cluster relay
/// (which reports the feed) and the graceful stop (which takes the node out of rotation first).
public final class Readiness: Sendable {
    private struct State {
        /// Nil for a node without a feed (the embedded store).
        var feedListening: Bool?
        var stopping = false
    }

    private let state = Mutex(State())

    public init() {}

    func feed(isListening: Bool) { state.withLock { $0.feedListening = isListening } }

    func beginStopping() { state.withLock { $0.stopping = true } }

    /// Why the node is not ready, or nil when it is. The store is asked with a bound (`timeout`): a
    /// database that does not answer is as good as gone.
    func problem(store: any Store, timeout: Duration = .seconds(2)) async -> String? {
        let (stopping, feed) = state.withLock { ($0.stopping, $0.feedListening) }
        if stopping { return "The node is stopping." }
        if feed == false { return "The node lost the cluster's event feed and is listening again." }
        let answered = await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await store.checkAvailable()) != nil }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        return answered ? nil : "The store does not answer."
    }
}
