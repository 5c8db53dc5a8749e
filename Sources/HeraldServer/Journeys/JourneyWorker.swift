import Foundation
import HeraldCore
import HeraldStore
import Logging
import ServiceLifecycle

/// Drives the journeys from the store: acts on recorded events (outbox rows of kind `journey.event`,
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

    /// Runs every `interval`, and at once when an event is recorded (the two may overlap: claims keep
    /// them apart).
    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await _ in journeys.wakeupRequests {
                    do { while try await runOnce() > 0 {} } catch { logger.warning("journey run failed", metadata: ["error": "\(error)"]) }
                }
            }
            await WorkerLoop.run(every: interval, logger: logger, name: "journeys") { try await runOnce() }
            journeys.stopWakeups()
        }
    }

    /// Acts on the events due now (up to 100, one after another), then moves the runs due now (up to
    /// 200, eight at a time); returns how many of both.
    @discardableResult
    func runOnce() async throws -> Int {
        let jobs = try await store.claimOutbox(kinds: [OutboxKind.journeyEvent], now: now(), lease: 60, limit: 100)
        for job in jobs { await handle(job) }
        let runs = try await store.claimDueJourneyRuns(now: now(), lease: 60, limit: 200)
        await withTaskGroup(of: Void.self) { group in
            for (index, run) in runs.enumerated() {
                if index >= 8 { await group.next() }
                group.addTask {
                    do {
                        try await journeys.advance(run)
                    } catch {
                        logger.warning("journey step failed", metadata: ["run": "\(run.id)", "error": "\(error)"])
                    }
                }
            }
        }
        return jobs.count + runs.count
    }

    private func handle(_ job: OutboxJob) async {
        do {
            if let id = job.subject.flatMap(EventID.init(rawValue:)) { try await journeys.handle(id, app: job.app) }
            try await store.completeOutbox(job.id)
        } catch {
            logger.warning("journey event failed", metadata: ["event": "\(job.subject ?? "")", "error": "\(error)"])
            do {
                if job.attempts + 1 >= backoff.maxAttempts {
                    logger.error("journey event given up", metadata: ["event": "\(job.subject ?? "")"])
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
