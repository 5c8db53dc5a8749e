import Foundation
import HeraldCore
import HeraldPush
import HeraldStore
import Logging
import ServiceLifecycle

/// Drains the push rows of the durable outbox: one row per inbox item and one per chat message,
/// written in the same transaction as the item or message, never sent on the send path.
///
/// A row is due `OutboxKind.pushGrace` after its commit, once live delivery has settled it: an inbox
/// item that reached a live connection loses its row, a message's row learns which members were
/// offline (`Hub.takePushSettlements`). Each device of each remaining recipient gets one push. Rows
/// are claimed with a lease, so after kill -9 the pending ones are sent by the next process (at least
/// once); the devices that already accepted are kept in the row, so a retry does not send to them
/// again. Passing failures back off exponentially with jitter (or as the provider's `Retry-After`
/// says) and give up after `backoff.maxAttempts` tries or when the item expires. Every attempt is
/// recorded per device; a dead token or subscription removes the device.
struct PushWorker: Service {
    let store: any AppStore & ChannelStore & DeviceStore & InboxStore & MessageStore & OutboxStore & PushStore & SettingsStore & WebhookStore
    let hub: Hub
    let providers: PushProviders
    let metrics: PushMetrics
    let now: @Sendable () -> Date
    let interval: Duration
    var backoff = Backoff(base: 5, factor: 3, cap: 3600, maxAttempts: 10)
    /// Pushes in flight at once (HTTP/2 multiplexes them over few connections).
    var concurrency = 32
    let logger: Logger

    /// What a row remembers across attempts.
    struct JobState: Codable {
        var channelId: String?
        var sender: String?
        /// Settled offline recipients of a message; nil means every member but the sender.
        var recipients: [String]?
        /// Devices that accepted (or were found dead or without credentials): not sent to again.
        var done: [String]?
    }

    private struct Target: Sendable {
        var user: UserID
        var push: PushNotification
        var category: NotificationCategory?
        var subject: PushDelivery.Subject
    }

    func run() async throws {
        await WorkerLoop.run(every: interval, logger: logger, name: "push") { try await runOnce() }
        await providers.shutdown()
    }

    /// Settles what live delivery decided, then performs the due rows (up to 200); returns how many.
    @discardableResult
    func runOnce() async throws -> Int {
        try await store.settleMessagePushes(hub.takePushSettlements())
        let jobs = try await store.claimOutbox(kinds: [OutboxKind.push, OutboxKind.messagePush], now: now(), lease: 60, limit: 200)
        guard !jobs.isEmpty else { return 0 }
        var setups: [AppID: AppPushSetup] = [:]
        for app in Set(jobs.map(\.app)) { setups[app] = try await AppPushSetup.load(app, store: store) }
        let outcomes = await withTaskGroup(of: JobOutcome.self) { group in
            var outcomes: [JobOutcome] = []
            for (index, job) in jobs.enumerated() {
                if index >= concurrency, let finished = await group.next() { outcomes.append(finished) }
                group.addTask { [setups] in
                    do {
                        guard let setup = setups[job.app] else { return JobOutcome(job: job, isComplete: true, deliveries: []) }
                        return try await perform(job, setup: setup)
                    } catch {
                        logger.warning("push job failed; retried after its lease", metadata: ["kind": "\(job.kind)", "error": "\(error)"])
                        return JobOutcome(job: job, isComplete: false, deliveries: [])
                    }
                }
            }
            for await finished in group { outcomes.append(finished) }
            return outcomes
        }
        // One write for the log and one for the completions, whatever the number of pushes.
        for (app, entries) in Dictionary(grouping: outcomes, by: \.job.app) {
            try await store.recordPushDeliveries(entries.flatMap(\.deliveries), app: app)
        }
        try await store.completeOutbox(outcomes.filter(\.isComplete).map(\.job.id))
        return jobs.count
    }

    private struct JobOutcome: Sendable {
        var job: OutboxJob
        /// Finished with: sent, given up or no longer needed. Otherwise rescheduled (or left to its lease).
        var isComplete: Bool
        var deliveries: [PushDelivery]
    }

    private func perform(_ job: OutboxJob, setup: AppPushSetup) async throws -> JobOutcome {
        var state = (try? JSONDecoder().decode(JobState.self, from: Data(job.payload.utf8))) ?? JobState()
        let time = now()
        guard let targets = try await targets(of: job, state: state, setup: setup, now: time), !targets.isEmpty else {
            return JobOutcome(job: job, isComplete: true, deliveries: [])
        }
        var done = Set(state.done ?? [])
        var deliveries: [PushDelivery] = []
        var retryAfter: TimeInterval?
        var needsRetry = false
        let isLastAttempt = job.attempts + 1 >= backoff.maxAttempts
        for target in targets {
            for device in try await store.devices(of: target.user, in: job.app) where !done.contains(device.id.rawValue) {
                let start = ContinuousClock.now
                let result = await providers.send(target.push, to: device, setup: setup, category: target.category, at: now())
                let outcome: PushDelivery.Outcome
                switch result?.outcome {
                case nil: outcome = .skipped
                case .accepted?: outcome = .accepted
                case .unregistered?: outcome = .unregistered
                case .failed?: outcome = .failed
                case .retry?: outcome = isLastAttempt ? .failed : .retrying
                }
                if let result { metrics.record(result, provider: device.platform.rawValue, duration: ContinuousClock.now - start) }
                if outcome == .retrying {
                    needsRetry = true
                    if let after = result?.retryAfter { retryAfter = max(retryAfter ?? 0, after) }
                } else {
                    done.insert(device.id.rawValue)
                }
                if outcome == .unregistered {
                    // The provider dropped the token (the app was uninstalled): the device goes, its key with it.
                    let removed = try await WebhookEvents(store: store).entries(
                        for: .deviceRemoved, app: job.app, user: target.user, data: WebhookEvents.deviceData(device, user: target.user), at: WireTime.truncated(now()))
                    _ = try await store.deleteDevice(device.id, of: target.user, in: job.app, effects: removed)
                }
                deliveries.append(
                    PushDelivery(
                        userId: target.user, deviceId: device.id, platform: device.platform, subject: target.subject, subjectId: target.push.id,
                        attempt: job.attempts + 1, outcome: outcome, statusCode: result?.statusCode, reason: result?.reason ?? (result == nil ? "no credentials" : nil),
                        at: WireTime.truncated(now())))
                if outcome != .accepted, outcome != .skipped {
                    logger.info(
                        "push not accepted",
                        metadata: ["platform": "\(device.platform.rawValue)", "device": "\(device.id)", "outcome": "\(outcome.rawValue)", "reason": "\(result?.reason ?? "")"])
                }
            }
        }
        guard needsRetry else { return JobOutcome(job: job, isComplete: true, deliveries: deliveries) }
        let at = time.addingTimeInterval(max(retryAfter ?? 0, backoff.delay(after: job.attempts)))
        if let expiry = targets.first?.push.expiresAt, at >= expiry { return JobOutcome(job: job, isComplete: true, deliveries: deliveries) }
        state.done = done.sorted()
        let payload = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        try await store.retryOutbox(job.id, at: at, error: "provider asked to retry", payload: payload)
        return JobOutcome(job: job, isComplete: false, deliveries: deliveries)
    }

    /// Who gets which push; nil when the row is no longer needed (read, expired, deleted, gone).
    private func targets(of job: OutboxJob, state: JobState, setup: AppPushSetup, now time: Date) async throws -> [Target]? {
        switch job.kind {
        case OutboxKind.push:
            guard let user = job.user, let id = job.subject.flatMap(InboxItemID.init(rawValue:)),
                let item = try await store.inboxItem(id, of: user, in: job.app), item.readAt == nil, item.archivedAt == nil
            else { return nil }
            if let expiresAt = item.expiresAt, expiresAt <= time { return nil }
            let badge = try await store.unreadInboxCount(of: user, in: job.app)
            let push = PushComposer().push(for: item, app: setup.app, mode: setup.settings.push.content(for: item.category), badge: badge, now: time)
            return [Target(user: user, push: push, category: item.category, subject: .inbox)]
        case OutboxKind.messagePush:
            guard let channelID = state.channelId.flatMap(ChannelID.init(rawValue:)), let id = job.subject.flatMap(MessageID.init(rawValue:)),
                let message = try await store.message(id, in: channelID, app: job.app), !message.deleted,
                let channel = try await store.channel(channelID, in: job.app)
            else { return nil }
            let members = Set(channel.members)
            let recipients = state.recipients.map { $0.compactMap(UserID.init(rawValue:)) } ?? channel.members.filter { $0 != message.sender }
            var targets: [Target] = []
            for user in recipients where members.contains(user) {
                let badge = try await store.unreadInboxCount(of: user, in: job.app)
                targets.append(Target(user: user, push: PushComposer().push(for: message, app: setup.app, badge: badge, now: time), category: nil, subject: .message))
            }
            return targets
        default:
            return nil
        }
    }
}
