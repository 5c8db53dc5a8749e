import Foundation
import HeraldStore
import Logging
import ServiceLifecycle

/// Forgets idempotency keys after they are no longer needed (they are kept 48 hours, twice the
/// documented minimum of 24), once an hour.
struct IdempotencySweeper: Service {
    let store: any IdempotencyStore
    let now: @Sendable () -> Date
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let cutoff = now().addingTimeInterval(-2 * 24 * 3600)
            do {
                let removed = try await store.purgeIdempotencyKeys(olderThan: cutoff)
                if removed > 0 { logger.info("forgot expired idempotency keys", metadata: ["count": "\(removed)"]) }
            } catch {
                logger.warning("idempotency sweep failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
        }
    }
}
