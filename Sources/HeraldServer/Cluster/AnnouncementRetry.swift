import HeraldStore

/// How long a cluster announcement is retried when the database refuses it: an erasure's `disconnect`
/// that is dropped leaves the erased user's sockets open on the other nodes, so signals are retried
/// with backoff (0.1 s, doubling to 2 s) for a bounded time, in order (later announcements wait, so
/// read positions still arrive in order). Typing is stale in a second and is not retried.
struct AnnouncementRetry: Sendable {
    /// Total time spent waiting between attempts before giving up.
    var bound: Duration
    var first: Duration = .milliseconds(100)
    var cap: Duration = .seconds(2)

    static func `for`(_ signal: ClusterSignal) -> AnnouncementRetry {
        switch signal {
        case .typing: AnnouncementRetry(bound: .zero)
        case .read, .inboxCreated: AnnouncementRetry(bound: .seconds(10))
        case .disconnect, .erased: AnnouncementRetry(bound: .seconds(30))
        }
    }

    /// Runs `attempt` until it succeeds (true) or the bound is spent (false).
    /// - Parameter sleep: injected, so tests need not wait.
    func run(
        sleep: (Duration) async throws -> Void = { try await Task.sleep(for: $0) }, _ attempt: () async throws -> Void
    ) async -> Bool {
        var waited = Duration.zero
        var delay = first
        while true {
            do {
                try await attempt()
                return true
            } catch {
                guard waited + delay <= bound, !Task.isCancelled else { return false }
                do { try await sleep(delay) } catch { return false }
                waited += delay
                delay = min(cap, delay * 2)
            }
        }
    }
}

extension ClusterSignal {
    /// The signal's name, for logs (no ids).
    var kind: String {
        switch self {
        case .read: "read"
        case .typing: "typing"
        case .inboxCreated: "inboxCreated"
        case .disconnect: "disconnect"
        case .erased: "erased"
        }
    }
}
