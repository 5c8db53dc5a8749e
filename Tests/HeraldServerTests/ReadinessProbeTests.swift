import Foundation
@testable import HeraldServer
import Synchronization
import Testing

@Suite("Readiness probe")
struct ReadinessProbeTests {
    @Test("A store query that hangs (and ignores cancellation) makes /ready say so within its timeout; probes meanwhile share one query")
    func hangingStore() async {
        let readiness = Readiness(probeCache: .seconds(1))
        let queries = Mutex(0)
        let (release, releaser) = AsyncStream<Void>.makeStream()
        let check: @Sendable () async throws -> Void = {
            queries.withLock { $0 += 1 }
            // Not cancellable: only the end of the test lets it go.
            for await _ in release { break }
        }

        let answers = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<20 { group.addTask { await readiness.problem(checkingStore: check, timeout: .milliseconds(200)) } }
            var answers: [String?] = []
            for await answer in group { answers.append(answer) }
            return answers
        }
        releaser.finish()

        #expect(answers.count == 20 && answers.allSatisfy { $0 == "The store does not answer." })
        #expect(queries.withLock { $0 } == 1, "one query in flight, not one per probe")
    }

    @Test("An answer stands for the cache time: many probes, one query")
    func cachedAnswer() async {
        let readiness = Readiness(probeCache: .seconds(3600))
        let queries = Mutex(0)
        let check: @Sendable () async throws -> Void = { queries.withLock { $0 += 1 } }

        var answers: [String?] = []
        for _ in 0..<10 { answers.append(await readiness.problem(checkingStore: check, timeout: .seconds(5))) }

        #expect(answers.allSatisfy { $0 == nil })
        #expect(queries.withLock { $0 } == 1)
    }

    @Test("Once a stuck probe is given up, the node is ready again as soon as the store answers")
    func recoversFromAStuckProbe() async {
        let readiness = Readiness(probeCache: .zero)
        let (release, releaser) = AsyncStream<Void>.makeStream()
        let stuck: @Sendable () async throws -> Void = { for await _ in release { break } }
        let healthy: @Sendable () async throws -> Void = {}

        let whileStuck = await readiness.problem(checkingStore: stuck, timeout: .milliseconds(100))
        var recovered = false
        for _ in 0..<50 where !recovered {
            recovered = await readiness.problem(checkingStore: healthy, timeout: .milliseconds(100)) == nil
        }
        releaser.finish()

        #expect(whileStuck == "The store does not answer.")
        #expect(recovered, "a fresh probe replaced the stuck one")
    }

    @Test("A store that answers at once is never reported as not answering: the bound's timer, cancelled, does not speak")
    func cancelledTimerIsSilent() async {
        // No cache, so each call probes; the check answers at once, far within the bound.
        let readiness = Readiness(probeCache: .zero)
        var failures = 0
        for _ in 0..<3_000 where await readiness.problem(checkingStore: {}, timeout: .seconds(30)) != nil { failures += 1 }
        #expect(failures == 0, "\(failures) of 3,000 probes said the store does not answer")
    }
}
