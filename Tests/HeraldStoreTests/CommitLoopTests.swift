import Dispatch
import HeraldStore
import Synchronization
import Testing

@Suite("Commit loop")
struct CommitLoopTests {
    /// Records batches; the first one blocks the loop's thread until released, so later requests pile up.
    final class GatedCommit: Sendable {
        let batches = Mutex<[[Int]]>([])
        let gate = DispatchSemaphore(value: 0)

        func commit(_ batch: [Int]) throws -> [Result<Int, any Error>] {
            let isFirst = batches.withLock { batches in
                batches.append(batch)
                return batches.count == 1
            }
            if isFirst { gate.wait() }
            if batch.contains(-1) { throw CancellationError() }
            return batch.map { .success($0 * 10) }
        }
    }

    @Test("Requests that arrive while a batch commits are committed together in the next one, without a caller's task leading")
    func batchesConcurrentRequests() async throws {
        let gated = GatedCommit()
        let loop = CommitLoop<Int, Int>(label: "test.commit-loop") { try gated.commit($0) }

        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            group.addTask { (0, try await loop.submit(0)) }
            while gated.batches.withLock({ $0.count }) < 1 { await Task.yield() }
            for value in 1...20 { group.addTask { (value, try await loop.submit(value)) } }
            while loop.queuedCount < 20 { await Task.yield() }
            gated.gate.signal()
            return try await group.reduce(into: [Int: Int]()) { $0[$1.0] = $1.1 }
        }

        #expect(results == Dictionary(uniqueKeysWithValues: (0...20).map { ($0, $0 * 10) }))
        #expect(gated.batches.withLock { $0.map(\.count) } == [1, 20])
    }

    @Test("A caller's several requests stay side by side in one batch, in order; a failed batch fails its own requests only")
    func submitAllAndFailures() async throws {
        let gated = GatedCommit()
        gated.gate.signal()
        let loop = CommitLoop<Int, Int>(label: "test.commit-loop", maxBatch: 2) { try gated.commit($0) }

        let results = await loop.submitAll([1, 2, 3, 4])
        await #expect(throws: CancellationError.self) { try await loop.submit(-1) }

        #expect(results.map { try? $0.get() } == [10, 20, 30, 40])
        #expect(gated.batches.withLock { $0 }.first == [1, 2, 3, 4], "one batch, even beyond maxBatch")
        #expect(try await loop.submit(5) == 50)
    }
}
