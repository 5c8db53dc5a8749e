import Foundation
import HeraldCore
import HeraldStore
import Logging
import ServiceLifecycle

/// Applies each app's `retention.messageDays`: messages older than that become tombstones (their
/// seq stays, so clients resume gap-free), inbox items and customer events are deleted, and journey runs
/// that ended before it lose their context (the events they acted on), in batches of `batchSize`, each
/// its own short transaction, with a pause between batches so that senders are never held up for long.
struct RetentionSweeper: Service {
    let store: any AppStore & SettingsStore & RetentionStore
    let now: @Sendable () -> Date
    let interval: Duration
    var batchSize = 500
    var pause: Duration = .milliseconds(20)
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                try await runOnce()
            } catch {
                logger.warning("retention sweep failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass over every app with a retention period; returns how much was removed. An app whose sweep
    /// fails is logged and passed over, so it cannot keep the others' content past their policy.
    @discardableResult
    func runOnce() async throws -> (messages: Int, inboxItems: Int, events: Int, runs: Int, digests: Int) {
        var total = (messages: 0, inboxItems: 0, events: 0, runs: 0, digests: 0)
        for app in try await store.apps() {
            do {
                guard let days = try await store.settings(of: app.id).retention.messageDays else { continue }
                let cutoff = now().addingTimeInterval(-Double(days) * 86_400)
                while !Task.isCancelled {
                    let removed = try await store.expireContent(of: app.id, createdBefore: cutoff, limit: batchSize)
                    total.messages += removed.messages
                    total.inboxItems += removed.inboxItems
                    if removed.messages < batchSize, removed.inboxItems < batchSize { break }
                    try? await Task.sleep(for: pause)
                }
                while !Task.isCancelled {
                    let removed = try await store.expireJourneyContent(of: app.id, before: cutoff, limit: batchSize)
                    total.events += removed.events
                    total.runs += removed.runs
                    total.digests += removed.digests
                    if removed.events < batchSize, removed.runs < batchSize, removed.digests < batchSize { break }
                    try? await Task.sleep(for: pause)
                }
            } catch {
                logger.warning("retention sweep of an app failed", metadata: ["app": "\(app.id)", "error": "\(error)"])
            }
        }
        if total.messages + total.inboxItems + total.events + total.runs + total.digests > 0 {
            logger.info(
                "retention removed old content",
                metadata: [
                    "messages": "\(total.messages)", "inbox_items": "\(total.inboxItems)", "customer_events": "\(total.events)",
                    "journey_runs_shredded": "\(total.runs)", "digests": "\(total.digests)",
                ])
        }
        return total
    }
}
