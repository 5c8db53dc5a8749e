import Foundation
import Logging
import ServiceLifecycle

/// Runs `NotificationService.runDue` every `interval`: scheduled sends (`sendAt`), fan-outs to resume
/// after a restart, marketing held during quiet hours. The state is all in the store, so nothing is lost
/// when the process stops between two runs.
struct NotificationScheduler: Service {
    let notifications: NotificationService
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                try await notifications.runDue()
            } catch {
                logger.warning("notification scheduler run failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
