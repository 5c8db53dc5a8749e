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

    /// Runs every `interval`, and at once when a send asks for a background fan-out; the two loops may
    /// overlap, which `runDue` allows (a claim leases each notification to one run). At shutdown neither
    /// run is cancelled: a fan-out stops between two pages by itself (`NotificationService.fanOut`), so
    /// no page is left committed but unannounced.
    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await _ in notifications.wakeupRequests { await runOnce() }
            }
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                await runOnce()
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            }
            notifications.stopWakeups()
        }
    }

    private func runOnce() async {
        do {
            try await notifications.runDue()
        } catch {
            logger.warning("notification scheduler run failed", metadata: ["error": "\(error)"])
        }
    }
}
