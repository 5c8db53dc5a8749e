import Foundation
import HeraldCore
import HeraldStore
import Logging
import ServiceLifecycle

/// Drains the durable outbox of webhooks and follow-ups: claims due rows, performs them, and
/// completes or reschedules each with backoff. Rows are claimed with a lease, so a row whose process
/// stopped mid-way is performed again later: delivery is at least once (webhook receivers dedupe by
/// `webhook-id`; follow-ups are idempotent by item).
struct OutboxWorker: Service {
    let store: any OutboxStore & WebhookStore & NotificationStore
    let notifications: NotificationService
    let sender: WebhookSender
    let now: @Sendable () -> Date
    let interval: Duration
    var webhookBackoff = Backoff()
    var followUpBackoff = Backoff(base: 10, factor: 2, cap: 600, maxAttempts: 8)
    let logger: Logger

    func run() async throws {
        await WorkerLoop.run(every: interval, logger: logger, name: "outbox") { try await runOnce() }
        await sender.shutdown()
    }

    /// Performs the rows due now (up to 50, eight at a time); returns how many.
    @discardableResult
    func runOnce() async throws -> Int {
        let jobs = try await store.claimOutbox(kinds: [OutboxKind.webhook, OutboxKind.followUp], now: now(), lease: 60, limit: 50)
        await withTaskGroup(of: Void.self) { group in
            for (index, job) in jobs.enumerated() {
                if index >= 8 { await group.next() }
                group.addTask { await perform(job) }
            }
        }
        return jobs.count
    }

    private func perform(_ job: OutboxJob) async {
        do {
            switch job.kind {
            case OutboxKind.webhook: try await deliverWebhook(job)
            case OutboxKind.followUp: try await sendFollowUp(job)
            default: try await store.completeOutbox(job.id)
            }
        } catch {
            logger.warning("outbox job failed", metadata: ["kind": "\(job.kind)", "error": "\(error)"])
        }
    }

    private func deliverWebhook(_ job: OutboxJob) async throws {
        let messageID = job.subject ?? "msg_\(job.id)"
        let event = (try? JSONValue.parse(Data(job.payload.utf8))).flatMap { value -> String? in
            if case .object(let fields) = value, case .string(let type)? = fields["type"] { return type }
            return nil
        } ?? "unknown"
        guard let (webhook, secret) = try await store.webhook(of: job.app) else {
            try await store.completeOutbox(job.id)
            return
        }
        let attempt = await sender.deliver(id: messageID, body: Data(job.payload.utf8), to: webhook.url, secret: secret)
        let isLast = job.attempts + 1 >= webhookBackoff.maxAttempts
        let outcome: WebhookDelivery.Outcome = attempt.isSuccess ? .delivered : (isLast ? .failed : .retrying)
        try await store.recordDelivery(
            WebhookDelivery(
                messageId: messageID, event: event, attempt: job.attempts + 1, url: webhook.url, statusCode: attempt.statusCode, error: attempt.error,
                durationMilliseconds: attempt.durationMilliseconds, at: WireTime.truncated(now()), outcome: outcome),
            app: job.app)
        if outcome == .retrying {
            try await store.retryOutbox(job.id, at: now().addingTimeInterval(webhookBackoff.delay(after: job.attempts)), error: attempt.error ?? "HTTP \(attempt.statusCode ?? 0)")
        } else {
            try await store.completeOutbox(job.id)
        }
    }

    /// Sends the template a taken action names to the same user, once per item.
    private func sendFollowUp(_ job: OutboxJob) async throws {
        guard case .object(let fields)? = try? JSONValue.parse(Data(job.payload.utf8)), case .string(let item)? = fields["itemId"],
            case .string(let notificationText)? = fields["notificationId"], let notificationID = NotificationID(rawValue: notificationText),
            case .string(let templateText)? = fields["template"], let template = TemplateKey(rawValue: templateText), let user = job.user,
            let key = ClientMessageID(rawValue: "followup-\(item)")
        else {
            try await store.completeOutbox(job.id)
            return
        }
        let variables = try await store.notification(notificationID, in: job.app)?.variables ?? [:]
        let new = NewNotification(audience: .users([user]), category: nil, source: .template(template, variables: variables))
        do {
            _ = try await notifications.send(
                new, app: job.app, idempotency: IdempotencyKey(scope: "followup", key: key, request: Data(), user: job.user, requiresSameRequest: false))
            try await store.completeOutbox(job.id)
        } catch let error as HeraldError {
            // The template is missing or no longer fits: retrying will not help.
            logger.warning("follow-up not sent", metadata: ["template": "\(template)", "error": "\(error)"])
            try await store.completeOutbox(job.id)
        } catch {
            if job.attempts + 1 >= followUpBackoff.maxAttempts {
                logger.error("follow-up given up", metadata: ["template": "\(template)", "error": "\(error)"])
                try await store.completeOutbox(job.id)
            } else {
                try await store.retryOutbox(job.id, at: now().addingTimeInterval(followUpBackoff.delay(after: job.attempts)), error: "\(error)")
            }
        }
    }
}
