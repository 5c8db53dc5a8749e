import Logging
import ServiceLifecycle

/// The loop every outbox worker runs until graceful shutdown: a pass, then, when the pass found
/// nothing to do, a pause of `interval` (cut short by shutdown). A failed pass is logged and the
/// loop goes on; the rows it claimed come back after their lease.
enum WorkerLoop {
    static func run(every interval: Duration, logger: Logger, name: String, pass: () async throws -> Int) async {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            var performed = 0
            do {
                performed = try await pass()
            } catch {
                logger.warning("\(name) run failed", metadata: ["error": "\(error)"])
            }
            if performed == 0 { try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) } }
        }
    }
}
