import CoreMetrics
import HeraldStore
import Prometheus

/// The message writer's group commits on `/metrics`: `herald_commit_batch_messages` (a histogram of
/// how many sends each commit carried) and `herald_commit_duration_seconds` (how long each took, its
/// fsync included). The meter is given to the store when it is opened, before the rest of the server.
struct CommitMetrics: Sendable {
    let batchSize: Recorder
    let duration: Timer

    init(registry: PrometheusCollectorRegistry) {
        let factory = PrometheusMetricsFactory(registry: registry)
        batchSize = Recorder(label: "herald_commit_batch_messages", factory: factory)
        duration = Timer(label: "herald_commit_duration_seconds", factory: factory)
    }

    var meter: CommitMeter {
        { [batchSize, duration] requests, elapsed in
            batchSize.record(requests)
            duration.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
    }
}
