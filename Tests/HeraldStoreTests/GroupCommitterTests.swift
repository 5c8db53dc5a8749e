import HeraldStore
import Synchronization
import Testing

@Suite("Group commit")
struct GroupCommitterTests {
    /// Records batch sizes; the first batch waits until released, so later requests pile up behind it.
    final class GatedCommit: Sendable {
        let batches = Mutex<[[Int]]>([])
        let gate: AsyncStream<Void>
        let release: AsyncStream<Void>.Continuation

        init() {
            (gate, release) = AsyncStream.makeStream()
        }

        func commit(_ batch: [Int]) async throws -> [Result<Int, any Error>] {
            let isFirst = batches.withLock { batches in
                batches.append(batch)
                return batches.count == 1
            }
            if isFirst { for await _ in gate { break } }
            if batch.contains(-1) { throw CancellationError() }
            return batch.map { .success($0 * 10) }
        }
    }

    @Test("Requests that arrive while a batch commits are committed together in the next one")
    func batchesConcurrentRequests() async throws {
        let gated = GatedCommit()
        let committer = GroupCommitter<Int, Int> { try await gated.commit($0) }

        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            group.addTask { (0, try await committer.submit(0)) }
            while gated.batches.withLock({ $0.count }) < 1 { await Task.yield() }
            for value in 1...20 { group.addTask { (value, try await committer.submit(value)) } }
            while await committer.queuedCount < 20 { await Task.yield() }
            gated.release.yield()
            return try await group.reduce(into: [Int: Int]()) { $0[$1.0] = $1.1 }
        }

        #expect(results == Dictionary(uniqueKeysWithValues: (0...20).map { ($0, $0 * 10) }))
        #expect(gated.batches.withLock { $0.map(\.count) } == [1, 20])
    }

    @Test("A failed batch fails its own requests only")
    func failureStaysInItsBatch() async throws {
        let gated = GatedCommit()
        gated.release.yield()
        let committer = GroupCommitter<Int, Int> { try await gated.commit($0) }

        await #expect(throws: CancellationError.self) { try await committer.submit(-1) }
        #expect(try await committer.submit(4) == 40)
    }

    @Test("A caller's several requests are committed in one batch, in order and side by side, each with its own result")
    func submitAllKeepsRequestsTogether() async throws {
        let gated = GatedCommit()
        let committer = GroupCommitter<Int, Int>(maxBatch: 4) { try await gated.commit($0) }

        let (pipelined, others) = await withTaskGroup(of: (Int, [Result<Int, any Error>]).self) { group in
            group.addTask { (0, await committer.submitAll([0])) }
            while gated.batches.withLock({ $0.count }) < 1 { await Task.yield() }
            group.addTask { (1, await committer.submitAll([100, 101, 102, 103, 104, 105])) }
            for value in 1...3 { group.addTask { (2, await committer.submitAll([value])) } }
            while await committer.queuedCount < 9 { await Task.yield() }
            gated.release.yield()
            var pipelined: [Int] = []
            var others: [Int] = []
            for await (kind, results) in group {
                let values = results.compactMap { try? $0.get() }
                if kind == 1 { pipelined = values } else if kind == 2 { others += values }
            }
            return (pipelined, others.sorted())
        }

        #expect(pipelined == [1_000, 1_010, 1_020, 1_030, 1_040, 1_050])
        #expect(others == [10, 20, 30])
        let batches = gated.batches.withLock { $0 }
        let withPipelined = batches.filter { $0.contains(100) }
        #expect(withPipelined.count == 1, "one batch, even beyond maxBatch: \(batches)")
        if let batch = withPipelined.first, let start = batch.firstIndex(of: 100) {
            #expect(Array(batch[start..<start + 6]) == [100, 101, 102, 103, 104, 105], "side by side, in order")
        }
    }
}
