/// Told of each batch a `GroupCommitter` committed: how many requests it held and how long the commit
/// took (for `/metrics`).
public typealias CommitMeter = @Sendable (_ requests: Int, _ duration: Duration) -> Void

/// Batches concurrent writes into one transaction (group commit).
///
/// A durable commit costs one fsync whatever it holds, so committing each send alone bounds
/// throughput by the disk's fsync latency. Here the first writer to arrive becomes the *leader*: it
/// commits everything queued so far as one batch, while later arrivals queue up behind it. When the
/// leader's own request is done it hands leadership to the oldest waiting request, whose task then
/// commits the next batch. Batches grow with load by themselves; an idle writer commits a lone send
/// at once, without waiting for company.
///
/// Backend-neutral: `commit` receives a batch and returns one result per request, in order. It is
/// called by one leader at a time, so batches are committed strictly one after another, which keeps
/// realtime delivery (done by the backend's observer inside `commit`) in commit order.
///
/// No background task: the work runs on the tasks of the callers, so there is nothing to start or stop,
/// and nothing is pending once every caller has returned.
public actor GroupCommitter<Request: Sendable, Output: Sendable> {
    public typealias Commit = @Sendable ([Request]) async throws -> [Result<Output, any Error>]

    private enum Signal {
        case done([Result<Output, any Error>])
        case lead
    }

    /// One caller's requests, committed together in one batch, in their order.
    private struct Entry {
        let ticket: UInt64
        let requests: [Request]
    }

    private let maxBatch: Int
    private let commit: Commit
    private let meter: CommitMeter?
    private var queue: [Entry] = []
    private var queueHead = 0
    private var waiters: [UInt64: CheckedContinuation<Signal, Never>] = [:]
    private var leaderResults: [UInt64: [Result<Output, any Error>]] = [:]
    private var nextTicket: UInt64 = 0
    private var hasLeader = false

    /// - Parameters:
    ///   - maxBatch: most requests in one transaction, so one batch cannot hold the writer for long.
    ///   - commit: writes a batch in one transaction; a thrown error fails every request of the batch.
    public init(maxBatch: Int = 512, meter: CommitMeter? = nil, commit: @escaping Commit) {
        self.maxBatch = maxBatch
        self.meter = meter
        self.commit = commit
    }

    /// Requests waiting for a batch (not counting the one being committed).
    public var queuedCount: Int { queue[queueHead...].reduce(0) { $0 + $1.requests.count } }

    /// Commits `request` (in some batch) and returns its result once that batch is durable.
    public func submit(_ request: Request) async throws -> Output {
        try await submitAll([request])[0].get()
    }

    /// Commits `requests` in one batch, in their order and with nothing of another caller's between
    /// them, and returns one result per request once the batch is durable (a realtime socket's
    /// pipelined sends: stored in the order sent, each acked or refused on its own).
    public func submitAll(_ requests: [Request]) async -> [Result<Output, any Error>] {
        guard !requests.isEmpty else { return [] }
        let ticket = nextTicket
        nextTicket &+= 1
        queue.append(Entry(ticket: ticket, requests: requests))
        if hasLeader {
            let signal = await withCheckedContinuation { waiters[ticket] = $0 }
            if case .done(let results) = signal { return results }
        } else {
            hasLeader = true
        }
        return await lead(until: ticket)
    }

    /// Commits batches until `ticket`'s requests are done, then passes leadership on.
    private func lead(until ticket: UInt64) async -> [Result<Output, any Error>] {
        while leaderResults[ticket] == nil {
            // Whole entries up to `maxBatch` requests (at least one entry, however large).
            var end = queueHead
            var count = 0
            while end < queue.count, end == queueHead || count + queue[end].requests.count <= maxBatch {
                count += queue[end].requests.count
                end += 1
            }
            let batch = Array(queue[queueHead..<end])
            queueHead = end
            compactQueue()
            let results: [Result<Output, any Error>]
            let start = ContinuousClock.now
            do {
                results = try await commit(batch.flatMap(\.requests))
            } catch {
                results = Array(repeating: .failure(error), count: count)
            }
            meter?(count, ContinuousClock.now - start)
            var offset = 0
            for entry in batch {
                let entryResults = Array(results[offset..<offset + entry.requests.count])
                offset += entry.requests.count
                if let waiter = waiters.removeValue(forKey: entry.ticket) {
                    waiter.resume(returning: .done(entryResults))
                } else {
                    leaderResults[entry.ticket] = entryResults
                }
            }
        }
        let results = leaderResults.removeValue(forKey: ticket)!
        if queueHead < queue.count, let next = waiters.removeValue(forKey: queue[queueHead].ticket) {
            next.resume(returning: .lead)
        } else {
            hasLeader = false
        }
        return results
    }

    private func compactQueue() {
        if queueHead == queue.count {
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
        } else if queueHead > 4096 {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
    }
}
