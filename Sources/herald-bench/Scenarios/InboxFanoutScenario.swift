import Foundation
import HeraldCore
import HeraldStore
import HeraldLoopback

/// One signed notification to `recipients` users' inboxes (a segment send, fanned out in the background:
/// timed from the POST until its report says `sent`, every item committed), while the `latency`
/// scenario runs beside it on the same server. Reports the fan-out's time, the latency run's figures, and
/// those of the acks received while the fan-out ran (`latency_during_fanout_…`); fails unless the report counts every recipient and the latency run got every message
/// exactly once, in order.
struct InboxFanoutScenario {
    let recipients: Int
    let latency: LatencyScenario

    func run(on server: BenchServer) async throws -> BenchResult {
        // The segment: users whose metadata says they belong to this run.
        let cohort = server.run
        return try await server.session(
            seedStore: { directory, app in try await seed(directory: directory, app: app, cohort: cohort) },
            seedAPI: { api in
                try await BenchServer.concurrently(recipients, width: 64) { index in
                    try await api.call(.PUT, "/v1/users/\(api.user("u\(index)"))", body: #"{"metadata":{"cohort":"\#(cohort)"}}"#, expect: [200, 201])
                }
            }
        ) { target, api, fsync in
            let recorder = LatencyScenario.Recorder(keepsAckTimes: true)
            async let beside = latency.measure(target: target, api: api, fsync: fsync, recorder: recorder)
            // Let the latency run reach its steady state before the fan-out starts.
            try await Task.sleep(for: .seconds(2))
            let started = ContinuousClock.now
            let sent = try await api.call(
                .POST, "/v1/notifications",
                body: #"{"segment":{"metadata":{"cohort":"\#(cohort)"}},"category":"transactional","content":{"title":"New rates","body":"Our savings rates change on 1 January."}}"#,
                expect: [201])
            // A segment fans out in the background: done when the report says `sent` (every item committed).
            let id = try BenchAPI.id(in: sent)
            var report = Data()
            while true {
                report = try await api.call(.GET, "/v1/notifications/\(id)", expect: [200])
                guard case .object(let fields) = try JSONValue.parse(report), case .string(let status)? = fields["status"] else {
                    throw LatencyScenario.Failure(description: "an unreadable report: \(String(decoding: report, as: UTF8.self))")
                }
                if status == "sent" { break }
                guard status == "sending" else { throw LatencyScenario.Failure(description: "the send ended \(status)") }
                // Each report counts the items (a scan of the notification's rows): polled every 100 ms, so
                // the poll costs the fan-out little and the figure is late by at most that.
                try await Task.sleep(for: .milliseconds(100))
            }
            let ended = ContinuousClock.now
            let fanOutSeconds = (ended - started).seconds
            guard case .object(let fields) = try JSONValue.parse(report), case .number(let count)? = fields["recipients"], Int(count) == recipients else {
                throw LatencyScenario.Failure(description: "the report does not count \(recipients) recipients: \(String(decoding: report, as: UTF8.self))")
            }
            let latencyResult = try await beside
            // The latency run lasts longer than a 100,000-user fan-out: its figures over the whole run mix
            // quiet seconds in. These are the acks received while the fan-out ran, alone.
            let during = recorder.acks(from: started, to: ended)
            let duringFigures = [("latency_during_fanout_acks", Double(during.totalCount))]
                + BenchResult.latencies("latency_during_fanout_ack", during)
            return BenchResult(
                scenario: "inbox-fanout",
                parameters: [("recipients", "\(recipients)"), ("durability", target.durability), ("build", PushScenario.build)]
                    + latencyResult.parameters.filter { ["pairs", "target_rate_per_second"].contains($0.0) }.map { ("latency_" + $0.0, $0.1) },
                figures: [("fanout_seconds", fanOutSeconds), ("items_per_second", Double(recipients) / fanOutSeconds)]
                    + latencyResult.figures.map { ($0.0.hasPrefix("fsync") ? $0.0 : "latency_" + $0.0, $0.1) } + duringFigures)
        }
    }

    /// `recipients` users in the segment, created through the store before the server starts, 512 at a time.
    private func seed(directory: URL, app: AppID, cohort: String) async throws {
        let store = try DataDirectory(path: directory.path).openStore(environmentKey: nil)
        try await BenchServer.concurrently(recipients) { index in
            _ = try await store.putUser(UserID(rawValue: "\(cohort)u\(index)")!, profile: UserProfile(metadata: ["cohort": .string(cohort)]), in: app)
        }
        try await store.close()
    }
}
