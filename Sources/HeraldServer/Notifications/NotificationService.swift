import CoreMetrics
import Foundation
import HeraldCore
import HeraldStore
import Logging

/// Sends notifications: checks them against their template, the recipients and the link policy,
/// stores them, and fans them out into inboxes.
///
/// The fan-out walks the audience in pages of `batchSize` users (in id order) and writes each page in one
/// transaction with its progress, so it never holds the writer long and, after a crash, the scheduler
/// resumes after the last page committed: every recipient gets the item exactly once. Content meant for
/// one person is sealed with their key and signed at once; content for several is rendered, sealed and
/// stored once per locale, and each recipient's item is a small reference row, signed when it is first
/// delivered or read (`InboxItemSigner`). A push row is written only for recipients who have a device
/// and no live connection when their page is built (and for items held for quiet hours); connected
/// recipients get `inbox.created` right after the commit, and a push if that found them gone.
final class NotificationService: Sendable {
    private let store: any NotificationStore & SettingsStore & TemplateStore & UserStore & InboxStore
    private let hub: Hub
    private let signer: BusinessSigner
    private let inboxSigner: InboxItemSigner
    private let webhooks: WebhookEvents
    private let now: @Sendable () -> Date
    private let batchSize: Int
    private let logger: Logger
    /// Fan-out progress: `herald_inbox_items_written_total` and `herald_inbox_items_published_total`
    /// (items that reached a live connection at once).
    private let itemsWritten: Counter
    private let itemsPublished: Counter
    /// Asks the scheduler to run now: a background fan-out was stored (`NotificationScheduler`).
    let wakeupRequests: AsyncStream<Void>
    private let wakeups: AsyncStream<Void>.Continuation

    /// Ends `wakeupRequests` (the scheduler is stopping); a send after this is picked up by the next start.
    func stopWakeups() { wakeups.finish() }

    init(
        store: any NotificationStore & SettingsStore & TemplateStore & UserStore & InboxStore, hub: Hub, signer: BusinessSigner, webhooks: WebhookEvents,
        now: @escaping @Sendable () -> Date, batchSize: Int = 1_000,
        metrics: any MetricsFactory = NOOPMetricsHandler.instance, logger: Logger
    ) {
        itemsWritten = Counter(label: "herald_inbox_items_written_total", factory: metrics)
        itemsPublished = Counter(label: "herald_inbox_items_published_total", factory: metrics)
        self.store = store
        self.hub = hub
        (wakeupRequests, wakeups) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.signer = signer
        inboxSigner = InboxItemSigner(signer: signer, store: store)
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
            status: new.sendAt == nil ? .sending : .scheduled, journey: new.journey)
        let (stored, isReplay) = try await store.createNotification(notification, idempotency: idempotency)
        if !isReplay, stored.status == .sending {
            if stored.fansOutInBackground {
                wakeups.yield()
            } else {
                try await fanOutOrFail(stored)
            }
        }
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

    /// Writes the notification's items to every recipient who has none yet, page by page from where an
    /// earlier run stopped, then marks it sent.
    func fanOut(_ notification: OutgoingNotification) async throws {
        var compiled: CompiledTemplate?
        if let key = notification.templateKey {
            guard let template = try await store.template(key, version: notification.templateVersion, in: notification.app) else {
                throw HeraldError.notFound(resource: "template")
            }
            compiled = try CompiledTemplate(template.definition)
        }
        // One listed recipient: what they read concerns them alone, so it is sealed with their key (and
        // shredded by their erasure) and signed now. Otherwise the content is the business's broadcast.
        let isPersonal = notification.isForOnePerson
        let personalKey = isPersonal ? try await signer.currentKey(of: notification.app) : nil
        // The category's fallback policies, as they stand when the fan-out (or its resumption) starts; a
        // stored one that no longer reads (its delay or its text) writes nothing rather than send at once.
        let fallbacks = try await store.settings(of: notification.app).fallback.policies[notification.category, default: []].compactMap { policy in
            policy.seconds > 0 && policy.message != nil ? InboxWrite.Fallback(channel: policy.channel.rawValue, after: policy.seconds) : nil
        }
        var (after, seen) = try await store.fanOutProgress(of: notification.id)
        let start = WireTime.truncated(now())
        var renderedByLocale: [String: RenderedContent] = [:]
        var page = try await store.audience(of: notification, after: after, limit: batchSize)
        while true {
            var entries: [InboxWrite.Entry] = []
            var contents: [InboxWrite.SharedContent] = []
            entries.reserveCapacity(page.recipients.count)
            for user in page.recipients {
                var availableAt = start
                guard user.preferences.admits(notification.category) else { continue }
                if notification.category == .marketing {
                    availableAt = WireTime.truncated(user.preferences.marketingDeliveryTime(for: start, timeZone: user.timezone))
                }
                if let expiresAt = notification.expiresAt, availableAt >= expiresAt { continue }
                let locale: String
                let content: RenderedContent
                if let compiled {
                    locale = compiled.resolvedLocale(for: user.locale) ?? ""
                    if let cached = renderedByLocale[locale] {
                        content = cached
                    } else {
                        content = try compiled.render(locale: locale.isEmpty ? nil : locale, variables: notification.variables)
                        renderedByLocale[locale] = content
                        if !isPersonal { contents.append(sharedContent(content, locale: locale, of: notification)) }
                    }
                } else if case .content(let title, let body) = notification.source {
                    locale = ""
                    if let cached = renderedByLocale[locale] {
                        content = cached
                    } else {
                        content = RenderedContent(title: title, body: body, actions: nil, locale: nil)
                        renderedByLocale[locale] = content
                        if !isPersonal { contents.append(sharedContent(content, locale: locale, of: notification)) }
                    }
                } else {
                    continue
                }
                var item = InboxItem(
                    id: .generate(), notificationId: notification.id, recipient: user.id, category: notification.category, title: content.title,
                    body: content.body, data: notification.data, actions: notification.actions ?? content.actions, createdAt: availableAt,
                    expiresAt: notification.expiresAt)
                // Held items (quiet hours) are pushed when released; a recipient connected here gets
                // `inbox.created` after the commit instead of a push.
                let isLive = availableAt <= start && hub.connectionCount(of: user.id, in: notification.app) > 0
                if let personalKey {
                    item.jws = personalKey.sign(payload: item.signedPayload(app: notification.app))
                    entries.append(InboxWrite.Entry(item: item, sharedLocale: nil, push: !isLive))
                } else {
                    entries.append(InboxWrite.Entry(item: item, sharedLocale: locale, push: !isLive))
                }
            }
            seen += page.seen
            after = page.last ?? after
            // A server shutting down stops after this page and gives up its lease, so the next start (or
            // another node) resumes at once.
            let isStopping = !page.isFinal && (Task.isShuttingDownGracefully || Task.isCancelled)
            let progress = InboxWrite.Progress(
                notification: notification.id, after: after, seen: seen,
                leaseUntil: isStopping ? now() : now().addingTimeInterval(OutgoingNotification.leaseSeconds))
            // The next page is read while this one is written: the reader and the writer are different
            // connections, and the cores are two.
            let current = page
            async let next = isStopping ? nil : nextPage(of: notification, after: current)
            try await write(InboxWrite(app: notification.app, entries: entries, contents: contents, progress: progress, fallbacks: fallbacks))
            let following = try await next
            if current.isFinal { break }
            guard let following else { return }  // stopping: the rest is for the next run
            page = following
            // A long fan-out shares the cooperative threads with everything else between its pages.
            await Task.yield()
        }
        let effects = try await webhooks.entries(
            for: .notificationSent, app: notification.app, user: nil,
            data: ["notificationId": .string(notification.id.rawValue), "category": .string(notification.category.rawValue), "audience": .number(Double(seen))],
            at: WireTime.truncated(now()))
        try await store.completeNotification(notification.id, audienceSize: seen, effects: effects)
    }

    /// The page of the audience after `page`; nil after the last.
    private func nextPage(of notification: OutgoingNotification, after page: AudiencePage) async throws -> AudiencePage? {
        guard !page.isFinal else { return nil }
        return try await store.audience(of: notification, after: page.last, limit: batchSize)
    }

    private func sharedContent(_ content: RenderedContent, locale: String, of notification: OutgoingNotification) -> InboxWrite.SharedContent {
        InboxWrite.SharedContent(
            notification: notification.id, locale: locale, title: content.title, body: content.body, data: notification.data,
            actions: notification.actions ?? content.actions)
    }

    private func write(_ write: InboxWrite) async throws {
        let time = now()
        let written = try await TracedStep.run("herald.commit", ["herald.inbox_items": .int(Int64(write.entries.count))]) {
            try await store.writeInbox(write, now: time)
        }
        itemsWritten.increment(by: written.count)
        // Only what was written is announced: an item the store skipped (its recipient has one already, or
        // was erased meanwhile) has an id nobody will ever find.
        let due = write.entries.filter { $0.item.createdAt <= time && written.contains($0.item.id) }
        let withoutPush = due.filter { !$0.push }.map(\.item)
        do {
            try await publish(due.map(\.item), app: write.app, withoutPush: Set(withoutPush.map(\.id)))
        } catch {
            // The page is committed and the fan-out goes on past it: recipients written without a push
            // (they were connected) get one now, unless the live frame reached them first.
            try? await store.queuePushes(for: withoutPush, app: write.app, now: now())
            throw error
        }
    }

    /// `inbox.created` to each recipient's live connections, signed first where it was not; the items that
    /// reached one are delivered. Items in `withoutPush` were written without a push because their
    /// recipient was connected: those that did not reach a connection after all get one now.
    private func publish(_ items: [InboxItem], app: AppID, withoutPush: Set<InboxItemID> = []) async throws {
        try await TracedStep.run("herald.deliver", ["herald.inbox_items": .int(Int64(items.count))]) {
            // Other nodes load and sign the item themselves (`ClusterRelay`): they are told its id only.
            hub.announceInboxCreated(items, app: app)
            let live = items.filter { hub.connectionCount(of: $0.recipient, in: app) > 0 }
            let (signed, signatures) = try await inboxSigner.signing(live, app: app)
            let delivered = signed.filter { hub.publishLocally(.inboxCreated($0), app: app, to: [$0.recipient]) }.map(\.id)
            itemsPublished.increment(by: delivered.count)
            try await store.markDelivered(delivered, signatures: signatures, app: app)
            let reached = Set(delivered)
            try await store.queuePushes(for: items.filter { withoutPush.contains($0.id) && !reached.contains($0.id) }, app: app, now: now())
        }
    }

    /// Sends what is due: scheduled notifications whose time has come, fan-outs a stopped process left
    /// unfinished, and held marketing items whose quiet hours are over.
    func runDue() async throws {
        let time = now()
        // One claim at a time: a lease covers the fan-out that runs now, not ones waiting behind it (whose
        // leases would run out meanwhile and let another run claim them too).
        while !Task.isShuttingDownGracefully, !Task.isCancelled,
            let notification = try await store.claimDueNotifications(now: now(), lease: OutgoingNotification.leaseSeconds, limit: 1).first
        {
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
