import Foundation
import HeraldCore
import HeraldPush
import HeraldStore
import Logging
import ServiceLifecycle

/// Sends the journeys' fallbacks outside the app (outbox rows of kind `fallback`): an SMS through the
/// app's gateway or an e-mail through its SMTP server, with the item's reference and nothing else.
/// Each attempt is a line in the delivery log (`GET /v1/fallback/deliveries`); failures that may pass
/// are tried again with backoff. Just before sending, the item and the run are looked at again: read,
/// acted on, archived or expired meanwhile, or the customer left the journey, nothing is sent.
///
/// Delivery is at least once, as with any provider: a provider that took a message but whose answer was
/// lost gets it again on the retry. Each pass claims only as many rows as it sends at once, so a slow
/// provider cannot outlast the lease of rows still waiting in the pass; and a row is completed before
/// its log line is written, so a failure to log never sends again. An e-mail keeps its `Message-ID`
/// across attempts (made from the row), so a receiving system can drop a repeat.
struct FallbackWorker: Service {
    let store: any OutboxStore & JourneyStore & UserStore & InboxStore & PushStore & SettingsStore
    let http: PushHTTPClient
    let smtp: SMTPClient
    let now: @Sendable () -> Date
    let interval: Duration
    var backoff = Backoff(base: 30, factor: 2, cap: 3_600, maxAttempts: 6)
    let logger: Logger

    func run() async throws {
        await WorkerLoop.run(every: interval, logger: logger, name: "fallback") { try await runOnce() }
        await shutdown()
    }

    /// Closes the worker's HTTP client (`run` does, when it ends).
    func shutdown() async {
        await http.shutdown()
    }

    /// Sends the fallbacks due now, four at once (each within about 60 s: resolution, a 10 s connect and
    /// a 30 s conversation, or a 20 s HTTP request, well inside the 180 s lease); returns how many.
    @discardableResult
    func runOnce() async throws -> Int {
        let jobs = try await store.claimOutbox(kinds: [.fallback, .fallbackPolicy], now: now(), lease: 180, limit: 4)
        await withTaskGroup(of: Void.self) { group in
            for job in jobs {
                group.addTask {
                    do {
                        try await perform(job)
                    } catch {
                        logger.warning("fallback failed", metadata: ["error": "\(error)"])
                    }
                }
            }
        }
        return jobs.count
    }

    private func perform(_ job: OutboxJob) async throws {
        guard let user = job.user, let item = job.subject.flatMap(InboxItemID.init(rawValue:)), let request = FallbackRequest(job) else {
            try await store.completeOutbox(job.id)
            return
        }
        let channel = request.channel
        let attempt = job.attempts + 1
        func record(_ outcome: FallbackDelivery.Outcome, status: Int? = nil, reason: String? = nil) async throws {
            try await store.recordFallbackDelivery(
                FallbackDelivery(user: user, item: item, channel: channel, attempt: attempt, outcome: outcome, statusCode: status, reason: reason, at: now()),
                app: job.app)
        }
        // Read, acted on, archived or expired since the step queued it (or gone), or the customer left
        // the journey: there is nothing to point at any more. A store error is thrown: the row is tried again.
        var current: InboxItem?
        do {
            current = try await store.inboxItem(item, of: user, in: job.app)
        } catch HeraldError.notFound {
            current = nil
        }
        var hasLeft = false
        if let run = request.run {
            hasLeft = try await store.journeyRun(run, in: job.app)?.status == .exited
        }
        guard let current, current.readAt == nil, current.performed == nil, current.archivedAt == nil, !current.isExpired(at: now()), !hasLeft else {
            return try await finish(job, record, .notNeeded)
        }
        // A policy's text is the one the settings hold now: a policy removed meanwhile sends nothing.
        guard let message = try await request.message(for: current, settings: { try await store.settings(of: job.app) }) else {
            return try await finish(job, record, .notNeeded)
        }
        // One per item and channel: a journey's step and the category's policy due together (on any
        // nodes) send once, through whichever row claims it first.
        guard try await store.claimFallback(for: item, of: user, channel: channel, job: job.id, in: job.app) else {
            return try await finish(job, record, .notNeeded)
        }
        let result: FallbackAttempt
        switch channel {
        case .sms:
            guard let number = try await store.user(user, in: job.app)?.phone else { return try await finish(job, record, .noAddress) }
            guard let secret = try await store.pushCredentials(.sms, of: job.app),
                let credentials = try? JSONDecoder().decode(SMSCredentials.self, from: secret)
            else { return try await finish(job, record, .notConfigured) }
            result = await SMSGatewayClient(http: http).send(message.text, to: number, with: credentials)
        case .email:
            guard let address = try await store.user(user, in: job.app)?.email else { return try await finish(job, record, .noAddress) }
            guard let secret = try await store.pushCredentials(.email, of: job.app),
                let credentials = try? JSONDecoder().decode(EmailCredentials.self, from: secret)
            else { return try await finish(job, record, .notConfigured) }
            let mail = SMTPMessage(
                from: credentials.from, fromName: credentials.fromName, to: address, subject: message.subject ?? "", text: message.text, date: now(),
                messageID: "<fallback.\(job.id).\(job.app.rawValue)@\(credentials.from.domain)>")
            result = await smtp.send(mail, with: credentials)
        }
        switch result {
        case .sent(let status):
            try await store.completeOutbox(job.id)
            try await record(.sent, status: status)
        case .failed(let status, let reason):
            try await store.completeOutbox(job.id)
            try await record(.failed, status: status, reason: reason)
        case .retry(let status, let reason):
            if attempt >= backoff.maxAttempts {
                try await store.completeOutbox(job.id)
                try await record(.failed, status: status, reason: reason + " (gave up after \(attempt) attempts)")
            } else {
                try await record(.retrying, status: status, reason: reason)
                try await store.retryOutbox(job.id, at: now().addingTimeInterval(backoff.delay(after: job.attempts)), error: reason)
            }
        }
    }

    private func finish(
        _ job: OutboxJob, _ record: (FallbackDelivery.Outcome, Int?, String?) async throws -> Void, _ outcome: FallbackDelivery.Outcome
    ) async throws {
        try await store.completeOutbox(job.id)
        try await record(outcome, nil, nil)
    }
}
