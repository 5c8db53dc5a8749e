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
        /// The last answer of the store, and when it came.
        var lastProbe: (at: ContinuousClock.Instant, answered: Bool)?
        /// The probe in flight, shared by every caller meanwhile, and when it began.
        var probe: (task: Task<Bool, Never>, id: UInt64, startedAt: ContinuousClock.Instant)?
        var nextProbe: UInt64 = 0
    }

    private let state = Mutex(State())
    private let clock = ContinuousClock()
    /// How long the store's last answer stands for: load balancers probing every node often must not
    /// each cost a query.
    let probeCache: Duration

    public init(probeCache: Duration = .seconds(1)) {
        self.probeCache = probeCache
    }

    func feed(isListening: Bool) { state.withLock { $0.feedListening = isListening } }

    func beginStopping() { state.withLock { $0.stopping = true } }

    /// Why the node is not ready, or nil when it is. The store is asked with a bound (`timeout`): a
    /// database that does not answer is as good as gone.
    func problem(store: any AvailabilityStore, timeout: Duration = .seconds(2)) async -> String? {
        await problem(checkingStore: { try await store.checkAvailable() }, timeout: timeout)
    }

    /// `problem(store:)` with the store's check given as a closure (tests give one that hangs).
    func problem(checkingStore check: @escaping @Sendable () async throws -> Void, timeout: Duration) async -> String? {
        let (stopping, feed) = state.withLock { ($0.stopping, $0.feedListening) }
        if stopping { return "The node is stopping." }
        if feed == false { return "The node lost the cluster's event feed and is listening again." }
        return await storeAnswers(check, timeout: timeout) ? nil : "The store does not answer."
    }

    /// Whether the store answers, from the cache or one probe at a time. The probe is a task of its
    /// own that the caller only waits for up to `timeout`: a query stuck on a dead connection (which
    /// may not honour cancellation) never holds `/ready`, and never piles up a query per request. A
    /// probe stuck for twice the timeout is given up (left to end on its own) and a fresh one asked, so
    /// a node is ready again as soon as its database is back.
    private func storeAnswers(_ check: @escaping @Sendable () async throws -> Void, timeout: Duration) async -> Bool {
        let now = clock.now
        let probe = state.withLock { state -> Task<Bool, Never>? in
            if let last = state.lastProbe, now - last.at < probeCache { return nil }
            if let probe = state.probe, now - probe.startedAt < timeout * 2 { return probe.task }
            let id = state.nextProbe
            state.nextProbe += 1
            let task = Task { [clock] in
                let answered = (try? await check()) != nil
                self.state.withLock { state in
                    // A probe given up on reports nothing: a newer one speaks for the store.
                    guard state.probe?.id == id else { return }
                    state.lastProbe = (clock.now, answered)
                    state.probe = nil
                }
                return answered
            }
            state.probe = (task, id, now)
            return task
        }
        guard let probe else { return state.withLock { $0.lastProbe?.answered ?? false } }
        return await Self.value(of: probe, within: timeout) ?? false
    }

    /// The task's value, or nil when it takes longer than `timeout` (the task goes on).
    private static func value(of task: Task<Bool, Never>, within timeout: Duration) async -> Bool? {
        let outcome = Mutex<CheckedContinuation<Bool?, Never>?>(nil)
        return await withCheckedContinuation { continuation in
            outcome.withLock { $0 = continuation }
            let finish: @Sendable (Bool?) -> Void = { value in outcome.withLock { $0.take() }?.resume(returning: value) }
            // Only a timer that ran out speaks: cancelled, its sleep throws, and it must not answer
            // "no" for a store that answered (it sometimes ran before the answer, and /ready said 503).
            let timer = Task {
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                finish(nil)
            }
            Task {
                let value = await task.value
                finish(value)
                timer.cancel()
            }
        }
    }
}
