import Foundation
import HeraldCore
import HeraldStore
import Logging
import ServiceLifecycle
import Synchronization

/// Drives the journeys from the store: records item events (outbox rows of kind `item.event`, written
/// by the database with the item's change), acts on recorded events (outbox rows of kind `journey.event`,
/// in the order they were recorded) and moves the runs that are due. Every node runs one; claims are
/// leased, so each event and each due run is worked on by one node at a time, and the compare-and-set
/// of each move keeps a run moved once even when a lease ran out under a slow node.
struct JourneyWorker: Service {
    let store: any OutboxStore & JourneyStore
    let journeys: JourneyService
    let now: @Sendable () -> Date
    let interval: Duration
    var backoff = Backoff(base: 5, factor: 2, cap: 600, maxAttempts: 12)
    let logger: Logger

    /// Runs every `interval`, and at once when an event is recorded. The two never run a pass at the
    /// same time on this node (`PassGate`: a wakeup during a pass makes that pass go round again), so
    /// one customer's runs are never moved by two passes of one node at once.
    func run() async throws {
        let gate = PassGate()
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await _ in journeys.wakeupRequests { await runSerialized(gate) }
            }
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                await runSerialized(gate)
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            }
            journeys.stopWakeups()
        }
    }

    /// Passes until one finds nothing to do, unless another caller is passing: then that caller goes
    /// round once more instead.
    private func runSerialized(_ gate: PassGate) async {
        guard gate.enter() else { return }
        repeat {
            do {
                while !Task.isShuttingDownGracefully, try await runOnce() > 0 {}
            } catch {
                logger.warning("journey run failed", metadata: ["error": "\(error)"])
            }
        } while gate.leaveOrGoAgain()
    }

    /// Acts on the events due now (up to 100, one after another), then records item events and sends
    /// digests due now (up to 100), then moves the runs due now (up to 200, eight customers at a time);
    /// returns how many of all.
    @discardableResult
    func runOnce() async throws -> Int {
        // The business's events first, in a lane of their own: a broadcast's expiries or deliveries, all
        // due at once, never hold up a fraud alert's event behind them.
        var jobs = try await store.claimOutbox(kinds: [.journeyEvent], now: now(), lease: 60, limit: 100)
        for job in jobs { await handle(job) }
        let itemJobs = try await store.claimOutbox(kinds: [.itemEvent, .journeyDigest], now: now(), lease: 60, limit: 100)
        for job in itemJobs { await handle(job) }
        jobs += itemJobs
        let runs = try await store.claimDueJourneyRuns(now: now(), lease: 60, limit: 200)
        // One customer's runs one after another, customers eight at a time: a frequency cap is counted
        // and then sent to without another run of the same customer in between (on this node).
        var byCustomer: [[JourneyRun]] = []
        var positions: [String: Int] = [:]
        for run in runs {
            let customer = "\(run.app.rawValue)|\(run.user.rawValue)"
            if let position = positions[customer] {
                byCustomer[position].append(run)
            } else {
                positions[customer] = byCustomer.count
                byCustomer.append([run])
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for (index, customerRuns) in byCustomer.enumerated() {
                if index >= 8 { await group.next() }
                group.addTask {
                    for run in customerRuns {
                        do {
                            try await journeys.advance(run)
                        } catch {
                            logger.warning("journey step failed", metadata: ["run": "\(run.id)", "error": "\(error)"])
                        }
                    }
                }
            }
        }
        return jobs.count + runs.count
    }

    private func handle(_ job: OutboxJob) async {
        do {
            if job.kind == .itemEvent {
                try await journeys.recordItemEvent(job)
            } else if job.kind == .journeyDigest {
                try await journeys.sendDigest(job)
            } else if let id = job.subject.flatMap(EventID.init(rawValue:)) {
                try await journeys.handle(id, app: job.app)
            }
            try await store.completeOutbox(job.id)
        } catch {
            logger.warning("journey event failed", metadata: ["event": "\(job.subject ?? "")", "error": "\(error)"])
            do {
                if job.attempts + 1 >= backoff.maxAttempts {
                    logger.error("journey event given up", metadata: ["event": "\(job.subject ?? "")"])
                    if job.kind == .journeyDigest { try await journeys.abandonDigest(job) }
                    try await store.completeOutbox(job.id)
                } else {
                    try await store.retryOutbox(job.id, at: now().addingTimeInterval(backoff.delay(after: job.attempts)), error: "\(error)")
                }
            } catch {
                logger.warning("journey event not rescheduled", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// One pass at a time: `enter` says whether the caller may pass (and, when not, asks the one passing to
/// go round again); `leaveOrGoAgain` says whether to go round again.
final class PassGate: Sendable {
    private let state = Mutex((passing: false, again: false))

    func enter() -> Bool {
        state.withLock { state in
            if state.passing {
                state.again = true
                return false
            }
            state.passing = true
            return true
        }
    }

    func leaveOrGoAgain() -> Bool {
        state.withLock { state in
            if state.again {
                state.again = false
                return true
            }
            state.passing = false
            return false
        }
    }
}
