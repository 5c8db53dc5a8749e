import Dispatch
import Instrumentation
import Synchronization

/// One commit loop on a thread of its own: takes whatever is queued, commits it in one transaction,
/// hands each caller its result, and goes on while anything is queued (issue 19).
///
/// What it replaces for SQLite's message writes, `GroupCommitter`, runs its batches on its callers'
/// tasks: after each commit the leader had to be scheduled again on the cooperative pool, behind the
/// hundreds of senders the commit had just resumed, and the writer stood idle meanwhile (the server
/// used one of two cores at saturation). Here the next batch starts as soon as the last is durable;
/// the commit and the commit observer (the hub's delivery) run on the loop's thread, in commit order.
///
/// For a synchronous database (GRDB's writer); PostgreSQL's asynchronous client keeps `GroupCommitter`.
/// Same contract otherwise: `commit` returns one result per request, in order; a thrown error fails
/// the batch; a caller's several requests (`submitAll`) are committed side by side in one batch.
public final class CommitLoop<Request: Sendable, Output: Sendable>: Sendable {
    public typealias Commit = @Sendable ([Request]) throws -> [Result<Output, any Error>]

    private struct Entry {
        let requests: [Request]
        let continuation: CheckedContinuation<[Result<Output, any Error>], Never>
        /// The caller's trace context: a traced request's commit (and the observer's delivery)
        /// stays its child though it runs on the loop's thread.
        let context: InstrumentationContext?
    }

    private struct State {
        var queue: [Entry] = []
        var isRunning = false
    }

    private let maxBatch: Int
    private let commit: Commit
    private let meter: CommitMeter?
    private let state = Mutex(State())
    private let thread: DispatchQueue

    /// - Parameters:
    ///   - maxBatch: most requests in one transaction, so one batch cannot hold the writer for long.
    ///   - commit: writes a batch in one transaction, synchronously, on the loop's thread.
    public init(label: String, maxBatch: Int = 512, meter: CommitMeter? = nil, commit: @escaping Commit) {
        self.maxBatch = maxBatch
        self.meter = meter
        self.commit = commit
        thread = DispatchQueue(label: label, qos: .userInitiated)
    }

    /// Requests waiting for a batch (not counting the one being committed).
    public var queuedCount: Int { state.withLock { $0.queue.reduce(0) { $0 + $1.requests.count } } }

    /// Commits `request` (in some batch) and returns its result once that batch is durable.
    public func submit(_ request: Request) async throws -> Output {
        try await submitAll([request])[0].get()
    }

    /// Commits `requests` in one batch, in their order with nothing else between them; one result each.
    public func submitAll(_ requests: [Request]) async -> [Result<Output, any Error>] {
        guard !requests.isEmpty else { return [] }
        return await withCheckedContinuation { continuation in
            let starts = state.withLock { state -> Bool in
                state.queue.append(Entry(requests: requests, continuation: continuation, context: InstrumentationContext.current))
                defer { state.isRunning = true }
                return !state.isRunning
            }
            if starts { thread.async { self.run() } }
        }
    }

    private func run() {
        while true {
            let batch = state.withLock { state -> [Entry] in
                var end = 0
                var count = 0
                while end < state.queue.count, end == 0 || count + state.queue[end].requests.count <= maxBatch {
                    count += state.queue[end].requests.count
                    end += 1
                }
                let batch = Array(state.queue[..<end])
                state.queue.removeFirst(end)
                if batch.isEmpty { state.isRunning = false }
                return batch
            }
            if batch.isEmpty { return }
            let requests = batch.flatMap(\.requests)
            let start = ContinuousClock.now
            let results: [Result<Output, any Error>]
            do {
                // A batch serves many callers: the first traced one's context stands for the batch.
                let context = batch.lazy.compactMap(\.context).first
                results = try InstrumentationContext.withValue(context) { try commit(requests) }
            } catch {
                results = Array(repeating: .failure(error), count: requests.count)
            }
            meter?(requests.count, ContinuousClock.now - start)
            var offset = 0
            for entry in batch {
                entry.continuation.resume(returning: Array(results[offset..<offset + entry.requests.count]))
                offset += entry.requests.count
            }
        }
    }
}
