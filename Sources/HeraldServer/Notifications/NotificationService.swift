import CoreMetrics
import Foundation
import HeraldCore
import HeraldStore
import Logging

/// Sends notifications: checks them against their template, the recipients and the link policy,
/// stores them, and fans them out into inboxes.
///
/// The fan-out renders once per locale, signs each item, and writes items in batches (one transaction
/// each, with a push outbox row per item); after each commit, recipients with a live connection get
/// `inbox.created` and their items are marked delivered. It is resumable: a recipient never gets two
/// items of one notification, so after a crash the scheduler finishes what was started.
final class NotificationService: Sendable {
    private let store: any NotificationStore & SettingsStore & TemplateStore & UserStore
    private let hub: Hub
    private let signer: BusinessSigner
    private let webhooks: WebhookEvents
    private let now: @Sendable () -> Date
    private let batchSize: Int
    private let logger: Logger
    /// Fan-out progress: `herald_inbox_items_written_total` and `herald_inbox_items_published_total`
    /// (items that reached a live connection at once).
    private let itemsWritten: Counter
    private let itemsPublished: Counter

    init(
        store: any NotificationStore & SettingsStore & TemplateStore & UserStore, hub: Hub, signer: BusinessSigner, webhooks: WebhookEvents, now: @escaping @Sendable () -> Date, batchSize: Int = 2_000,
        metrics: any MetricsFactory = NOOPMetricsHandler.instance, logger: Logger
    ) {
        itemsWritten = Counter(label: "herald_inbox_items_written_total", factory: metrics)
        itemsPublished = Counter(label: "herald_inbox_items_published_total", factory: metrics)
        self.store = store
        self.hub = hub
        self.signer = signer
        self.webhooks = webhooks
        self.now = now
        self.batchSize = batchSize
        self.logger = logger
    }

    /// Validates and stores `new`; an immediate send is fanned out before this returns.
    /// - Throws: `HeraldError.invalid` (unknown template or users, missing variables, refused links),
    ///   `.conflict` (idempotency key reused with another body).
    func send(_ new: NewNotification, app: AppID, idempotency: IdempotencyKey?) async throws -> (report: NotificationReport, isReplay: Bool) {
        let policy = try await store.settings(of: app).links
        var category = new.category
        var templateVersion: Int?
        switch new.source {
        case .template(let key, let variables):
            guard let template = try await store.template(key, version: nil, in: app) else {
                throw HeraldError.invalid(field: "template", .invalidValue, detail: "no template \(key)")
            }
            if let category, category != template.definition.category {
                throw HeraldError.invalid(field: "category", .invalidValue, detail: "template \(key) is \(template.definition.category.rawValue)")
            }
            category = template.definition.category
            templateVersion = template.version
            let compiled = try CompiledTemplate(template.definition)
            try compiled.checkVariables(variables)
            if template.definition.category.requiresLinkPolicy { try compiled.checkLinks(policy, variables: variables) }
        case .content(let title, let body):
            if category?.requiresLinkPolicy == true { try policy.check([("content.title", title), ("content.body", body)]) }
        }
        if category?.requiresLinkPolicy == true { try policy.check(LinkPolicy.fields(of: new.actions) + LinkPolicy.fields(of: new.data)) }
        if case .users(let ids) = new.audience { try await checkUsersExist(ids, app: app) }
        let notification = OutgoingNotification(
            id: .generate(), app: app, category: category!, source: new.source, templateVersion: templateVersion, audience: new.audience, data: new.data,
            actions: new.actions, sendAt: new.sendAt, expiresAt: new.expiresAt, createdAt: WireTime.truncated(now()),
            status: new.sendAt == nil ? .sending : .scheduled)
        let (stored, isReplay) = try await store.createNotification(notification, idempotency: idempotency)
        if !isReplay, stored.status == .sending { try await fanOutOrFail(stored) }
        guard let report = try await store.notificationReport(stored.id, in: app) else { throw HeraldError.notFound(resource: "notification") }
        return (report, isReplay)
    }

    private func checkUsersExist(_ ids: [UserID], app: AppID) async throws {
        let existing = Set(try await store.recipients(ids, in: app).map(\.id))
        let unknown = ids.filter { !existing.contains($0) }
        guard !unknown.isEmpty else { return }
        let named = unknown.prefix(10).map(\.rawValue).joined(separator: ", ") + (unknown.count > 10 ? " and \(unknown.count - 10) more" : "")
        throw HeraldError.invalid(field: "recipients", .unknownUser, detail: "no such users: \(named)")
    }

    /// `fanOut`, marking the notification `failed` when it is refused for what it is (its template no
    /// longer renders within the limits, or is gone: `tooLarge`, `invalid`, `notFound`), which no
    /// retry can change; any other error (the store) leaves it to be retried after its lease.
    func fanOutOrFail(_ notification: OutgoingNotification) async throws {
        do {
            try await fanOut(notification)
        } catch let error as HeraldError {
            switch error {
            case .tooLarge, .invalid, .notFound: try await store.failNotification(notification.id)
            default: break
            }
            throw error
        }
    }

    /// Writes the notification's items to every recipient who has none yet, then marks it sent.
    func fanOut(_ notification: OutgoingNotification) async throws {
        var compiled: CompiledTemplate?
        if let key = notification.templateKey {
            guard let template = try await store.template(key, version: notification.templateVersion, in: notification.app) else {
                throw HeraldError.notFound(resource: "template")
            }
            compiled = try CompiledTemplate(template.definition)
        }
        let audience = try await store.audience(of: notification)
        let done = try await store.recipientsWithItems(of: notification.id)
        let key = try await signer.currentKey(of: notification.app)
        let start = WireTime.truncated(now())
        var renderedByLocale: [String: RenderedContent] = [:]
        var batch: [InboxItem] = []
        batch.reserveCapacity(batchSize)
        for user in audience where !done.contains(user.id) {
            var availableAt = start
            if notification.category == .marketing {
                guard user.preferences.consents.marketing else { continue }
                availableAt = WireTime.truncated(user.preferences.marketingDeliveryTime(for: start, timeZone: user.timezone))
            }
            if let expiresAt = notification.expiresAt, availableAt >= expiresAt { continue }
            let content: RenderedContent
            if let compiled {
                let locale = compiled.resolvedLocale(for: user.locale) ?? ""
                if let cached = renderedByLocale[locale] {
                    content = cached
                } else {
                    content = try compiled.render(locale: locale.isEmpty ? nil : locale, variables: notification.variables)
                    renderedByLocale[locale] = content
                }
            } else if case .content(let title, let body) = notification.source {
                content = RenderedContent(title: title, body: body, actions: nil, locale: nil)
            } else {
                continue
            }
            var item = InboxItem(
                id: .generate(), notificationId: notification.id, recipient: user.id, category: notification.category, title: content.title,
                body: content.body, data: notification.data, actions: notification.actions ?? content.actions, createdAt: availableAt,
                expiresAt: notification.expiresAt)
            item.jws = key.sign(payload: item.signedPayload(app: notification.app))
            batch.append(item)
            if batch.count >= batchSize {
                try await write(batch, app: notification.app)
                batch.removeAll(keepingCapacity: true)
            }
        }
        try await write(batch, app: notification.app)
        let effects = try await webhooks.entries(
            for: .notificationSent, app: notification.app, user: nil,
            data: ["notificationId": .string(notification.id.rawValue), "category": .string(notification.category.rawValue), "audience": .number(Double(audience.count))],
            at: WireTime.truncated(now()))
        try await store.completeNotification(notification.id, audienceSize: audience.count, effects: effects)
    }

    private func write(_ items: [InboxItem], app: AppID) async throws {
        guard !items.isEmpty else { return }
        let time = now()
        try await TracedStep.run("herald.commit", ["herald.inbox_items": .int(Int64(items.count))]) {
            try await store.insertInboxItems(items, app: app, now: time)
        }
        itemsWritten.increment(by: items.count)
        try await publish(items.filter { $0.createdAt <= time }, app: app)
    }

    /// `inbox.created` to each recipient's live connections; the items that reached one are delivered.
    private func publish(_ items: [InboxItem], app: AppID) async throws {
        try await TracedStep.run("herald.deliver", ["herald.inbox_items": .int(Int64(items.count))]) {
            let delivered = items.filter { hub.publish(.inboxCreated($0), app: app, to: [$0.recipient]) }.map(\.id)
            itemsPublished.increment(by: delivered.count)
            try await store.markDelivered(delivered, app: app)
        }
    }

    /// Sends what is due: scheduled notifications whose time has come, fan-outs a stopped process left
    /// unfinished, and held marketing items whose quiet hours are over.
    func runDue() async throws {
        let time = now()
        for notification in try await store.claimDueNotifications(now: time, lease: OutgoingNotification.leaseSeconds, limit: 10) {
            do {
                try await fanOutOrFail(notification)
            } catch let error as HeraldError {
                logger.error("notification cannot be sent", metadata: ["notification": "\(notification.id)", "error": "\(error)"])
            } catch {
                logger.error("notification fan-out failed; it is retried after its lease", metadata: ["notification": "\(notification.id)", "error": "\(error)"])
            }
        }
        while true {
            let released = try await store.releaseDueInboxItems(now: time, limit: 1_000)
            for (app, items) in Dictionary(grouping: released, by: \.app) { try await publish(items.map(\.item), app: app) }
            if released.count < 1_000 { break }
        }
    }
}
