import Foundation
import HeraldCore
import HeraldStore
import Logging
import Synchronization

/// Carries customers through journeys: stores declarations and events, starts runs on the events that
/// trigger them, and moves each run step by step as `JourneyStepper` decides.
///
/// Nothing here waits in memory: a wait is a time in the store (`JourneyRun.dueAt`), an event is an
/// outbox row written with it, and every move is a compare-and-set on the run's revision together with
/// the step's line in the log, which the store refuses twice. So after a crash (or on another node)
/// the work resumes from the last commit, and a step runs once for each entry: a send repeated after a
/// crash between the send and its commit finds the notification by its idempotency key
/// (`journey:<run>`, the step's id) instead of sending again.
final class JourneyService: Sendable {
    private let store: any JourneyStore & UserStore & TemplateStore & InboxStore
    private let settings: any SettingsStore
    private let notifications: NotificationService
    private let now: @Sendable () -> Date
    private let logger: Logger
    /// Versions never change once stored, so their steppers are kept (bounded; cleared when full).
    private let steppers = Mutex<[String: JourneyStepper]>([:])
    private static let stepperCacheLimit = 1_024
    /// Asks the worker to run now: an event was recorded (`JourneyWorker`).
    let wakeupRequests: AsyncStream<Void>
    private let wakeups: AsyncStream<Void>.Continuation

    init(
        store: any JourneyStore & UserStore & TemplateStore & SettingsStore & InboxStore, notifications: NotificationService,
        now: @escaping @Sendable () -> Date,
        logger: Logger
    ) {
        self.store = store
        settings = store
        self.notifications = notifications
        self.now = now
        self.logger = logger
        (wakeupRequests, wakeups) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    func stopWakeups() { wakeups.finish() }

    // MARK: declarations and events

    /// Reads, checks and stores the next version of a journey.
    /// - Throws: `HeraldError.invalid` for a declaration that does not read, or whose send steps name a
    ///   template that does not exist or has another category than the journey.
    func put(_ key: JourneyKey, body: Data, app: AppID) async throws -> Journey {
        let definition = try JourneyDefinition(body: body)
        var problems: [FieldProblem] = []
        for (index, step) in definition.steps.enumerated() {
            let templateKey: TemplateKey
            switch step.action {
            case .send(let key, _), .digest(let key, _, _): templateKey = key
            default: continue
            }
            let kind = step.action.isSend ? "send" : "digest"
            guard let template = try await store.template(templateKey, version: nil, in: app) else {
                problems.append(FieldProblem(field: "steps[\(index)].\(kind).template", reason: .invalidValue, detail: "no template \(templateKey)"))
                continue
            }
            if template.definition.category != definition.category {
                problems.append(
                    FieldProblem(
                        field: "steps[\(index)].\(kind).template", reason: .invalidValue,
                        detail: "template \(templateKey) is \(template.definition.category.rawValue), the journey \(definition.category.rawValue)"))
            }
        }
        guard problems.isEmpty else { throw HeraldError.invalid(problems) }
        return try await store.putJourney(key, document: try JSONValue.parse(body).canonicalData(), in: app)
    }

    /// Records an event; the journeys act on it shortly after (`JourneyWorker`), from the outbox.
    func record(_ new: NewCustomerEvent, app: AppID, idempotency: IdempotencyKey?) async throws -> (event: CustomerEvent, isReplay: Bool) {
        let time = WireTime.truncated(now())
        let event = CustomerEvent(id: .generate(at: time), user: new.user, name: new.name, properties: new.properties, occurredAt: new.occurredAt, recordedAt: time)
        let result = try await store.recordEvent(event, app: app, idempotency: idempotency)
        if !result.isReplay { wakeups.yield() }
        return result
    }

    /// Records the item event an `item.event` outbox row stands for (`item.<state>`, its time the
    /// item's), once: the row and the item are the key of its idempotency, so a row handled again after
    /// a crash finds the event it recorded. An expiry is recorded only for an item still there, past its
    /// `expiresAt`, and not acted on; any other change only for an item still there.
    func recordItemEvent(_ job: OutboxJob) async throws {
        guard let user = job.user, let id = job.subject.flatMap(InboxItemID.init(rawValue:)), let state = CustomerEvent.ItemState(rawValue: job.payload),
            let key = ClientMessageID(rawValue: "\(id.rawValue).\(state.rawValue)")
        else { return }
        let item: InboxItem?
        do {
            item = try await store.inboxItem(id, of: user, in: job.app)
        } catch HeraldError.notFound {
            item = nil
        }
        guard let item else { return }
        let occurredAt: Date?
        // The row's time is the change's (the trigger writes it so); an expiry's is the item's `expiresAt`.
        switch state {
        case .delivered: occurredAt = job.createdAt
        case .read: occurredAt = item.readAt.map { _ in job.createdAt }
        case .acted: occurredAt = item.performed.map { _ in job.createdAt }
        case .expired: occurredAt = item.performed == nil && item.isExpired(at: now()) ? item.expiresAt : nil
        }
        guard let occurredAt else { return }
        var properties: [String: JSONValue] = [
            "itemId": .string(item.id.rawValue), "notificationId": .string(item.notificationId.rawValue), "category": .string(item.category.rawValue),
        ]
        if state == .acted, let action = item.performed?.actionId { properties["action"] = .string(action) }
        if let journey = try await store.journey(sent: item.notificationId, in: job.app) { properties["journey"] = .string(journey.rawValue) }
        let new = NewCustomerEvent(user: user, name: state.eventName, properties: properties, occurredAt: occurredAt)
        let idempotency = IdempotencyKey(scope: "herald:item-events", key: key, request: Data(), user: user, requiresSameRequest: false)
        _ = try await record(new, app: job.app, idempotency: idempotency)
    }

    /// Sends a digest whose window ended (a `journey.digest` outbox row): closes it, so later entries
    /// open the next, and sends its one message, with `count` and `items` (`JourneyDigest`). The send's
    /// idempotency key is the digest, so a row handled again after a crash finds the message it sent.
    ///
    /// One entry does not cost the others their message: each is tried alone with the template first
    /// (an entry the template cannot render, or whose link the policy refuses, is left out and not
    /// counted), and the list is halved until the message fits the size limits (`count` still counts
    /// every entry kept). A template that refuses every entry, or is gone, ends the digest as failed.
    func sendDigest(_ job: OutboxJob) async throws {
        guard let id = job.subject.flatMap(JourneyDigestID.init(rawValue:)), let digest = try await store.closeDigest(id, in: job.app), !digest.isFinished
        else { return }
        guard let key = ClientMessageID(rawValue: id.rawValue), let template = try await store.template(digest.template, version: nil, in: job.app),
            let user = try await store.user(digest.user, in: job.app)
        else { return try await store.finishDigest(id, notification: nil, in: job.app) }
        let policy = try await settings.settings(of: job.app).links
        func fits(_ variables: [String: JSONValue]) -> Bool {
            (try? Self.preview(template, variables: variables, locale: user.locale, policy: policy)) != nil
        }
        let kept = digest.entries.filter { fits(JourneyDigest.variables(entries: [$0])) }
        let count = digest.count - (digest.entries.count - kept.count)
        var listed = kept.count
        while listed > 0, !fits(JourneyDigest.variables(entries: Array(kept.prefix(listed)), count: count)) { listed /= 2 }
        guard listed > 0 else {
            logger.warning("journey digest refused by its template", metadata: ["digest": "\(id)", "entries": "\(digest.count)"])
            return try await store.finishDigest(id, notification: nil, in: job.app)
        }
        let new = NewNotification(
            audience: .users([digest.user]), category: digest.category,
            source: .template(digest.template, variables: JourneyDigest.variables(entries: Array(kept.prefix(listed)), count: count)), journey: digest.journey)
        let idempotency = IdempotencyKey(scope: "herald:journey-digests", key: key, request: Data(), user: digest.user, requiresSameRequest: false)
        do {
            let (report, _) = try await notifications.send(new, app: job.app, idempotency: idempotency)
            try await store.finishDigest(id, notification: report.id, in: job.app)
        } catch let error as HeraldError {
            switch error {
            case .invalid, .notFound, .tooLarge:
                logger.warning("journey digest refused by its template", metadata: ["digest": "\(id)", "problem": "\(JourneyService.summary(of: error))"])
                try await store.finishDigest(id, notification: nil, in: job.app)
            default:
                throw error
            }
        }
    }

    /// Gives up a digest whose sending kept failing (its outbox row's last attempt): its entries are
    /// deleted, not kept for ever.
    func abandonDigest(_ job: OutboxJob) async throws {
        guard let id = job.subject.flatMap(JourneyDigestID.init(rawValue:)) else { return }
        try await store.finishDigest(id, notification: nil, in: job.app)
    }

    /// Walks the journey for a customer without sending (`JourneySimulation`): templates rendered in
    /// their locale, links checked as a send would, consent as their preferences say.
    func dryRun(_ journey: Journey, body: Data, app: AppID) async throws -> JourneySimulation.Walk {
        let request = try JourneySimulation.readRequest(body)
        guard let user = try await store.user(request.user, in: app) else {
            throw HeraldError.invalid([FieldProblem(field: "userId", reason: .unknownUser, detail: "no such user: \(request.user.rawValue)")])
        }
        var previews: [TemplateKey: Template] = [:]
        for step in journey.definition.steps {
            let key: TemplateKey
            switch step.action {
            case .send(let template, _), .digest(let template, _, _): key = template
            default: continue
            }
            if previews[key] == nil { previews[key] = try await store.template(key, version: nil, in: app) }
        }
        let policy = try await settings.settings(of: app).links
        let input = JourneySimulation.Input(
            user: user.id, profile: JourneyStepper.userValue(locale: user.locale, timezone: user.timezone, metadata: user.metadata),
            admitsCategory: user.preferences.admits(journey.definition.category), events: request.events, items: request.items)
        return JourneySimulation.walk(stepper(for: journey, app: app), input: input) { key, variables in
            Result { () throws(HeraldError) in
                guard let template = previews[key] ?? nil else { throw .notFound(resource: "template \(key)") }
                return try Self.preview(template, variables: variables, locale: user.locale, policy: policy)
            }
        }
    }

    /// What a send of `template` with `variables` would show in `locale`, with the checks a send makes
    /// (variables, the link policy, the size limits): the dry run shows it, a digest tries its entries with it.
    static func preview(_ template: Template, variables: [String: JSONValue], locale: String?, policy: LinkPolicy) throws(HeraldError) -> JourneySimulation.Preview {
        let compiled = try CompiledTemplate(template.definition)
        try compiled.checkVariables(variables)
        if template.definition.category.requiresLinkPolicy { try compiled.checkLinks(policy, variables: variables) }
        let rendered = try compiled.render(locale: locale, variables: variables)
        return JourneySimulation.Preview(title: rendered.title, body: rendered.body, locale: rendered.locale)
    }

    // MARK: acting on an event

    /// Acts on one recorded event: the customer's runs that it ends or continues, then the journeys it
    /// starts. Running it again for the same event changes nothing more (each run has moved on, and a
    /// trigger event starts a journey once).
    func handle(_ id: EventID, app: AppID) async throws {
        guard let event = try await store.customerEvent(id, in: app), let user = try await store.user(event.user, in: app) else { return }
        let userValue = JourneyStepper.userValue(locale: user.locale, timezone: user.timezone, metadata: user.metadata)
        let time = WireTime.truncated(now())
        for run in try await store.journeyRuns(of: event.user, in: app) {
            try await continueRun(run, on: event, user: userValue, at: time)
        }
        for journey in try await store.journeys(in: app) {
            let stepper = stepper(for: journey, app: app)
            guard stepper.isTriggered(by: event, user: userValue) else { continue }
            // Entered when the trigger was recorded: entry windows and exit events count from then.
            let run = JourneyRun(
                id: .generate(at: time), app: app, journey: journey.key, version: journey.version, user: event.user, status: .ready, step: 0, dueAt: time,
                context: JourneyRun.Context(event: event.contextValue), trigger: event.id, enteredAt: event.recordedAt)
            if try await store.startJourneyRun(run, entry: journey.definition.entry) {
                logger.debug("journey entered", metadata: ["journey": "\(journey.key)", "run": "\(run.id)"])
            }
        }
    }

    /// Ends `run` on an exit event, or moves it past the `waitFor` the event ends; tried again on a run
    /// that moved meanwhile (a worker stepped it), a few times.
    private func continueRun(_ run: JourneyRun, on event: CustomerEvent, user: JSONValue, at time: Date) async throws {
        var current = run
        for _ in 0..<5 {
            let stepper = try await stepper(current.journey, version: current.version, app: current.app)
            var next = current
            // Only what happened after, once: an exit event recorded before the trigger, an awaited event
            // recorded before the wait began, the trigger itself, or an event that already ended a wait
            // of this run, does not count. So an event acted on twice (a retry after a crash) cannot move
            // a run that has since moved on.
            let isAfterEntry = event.id != current.trigger && !current.context.handled.contains(event.id) && event.recordedAt >= current.enteredAt
            if isAfterEntry, stepper.exits(on: event, user: user) {
                next.end(.exited, at: time)
            } else if current.status == .waiting, isAfterEntry, let since = stepper.waitingSince(current),
                event.recordedAt >= since, stepper.awaits(event, at: current.step, user: user)
            {
                next.context.event = event.contextValue
                next.context.handle(event.id)
                next.go(to: stepper.following(current.step), at: time)
            } else {
                return
            }
            if try await store.updateJourneyRun(next, log: nil) { return }
            guard let reread = try await store.journeyRun(current.id, in: current.app), !reread.status.hasEnded else { return }
            current = reread
        }
        throw JourneyRunContention(run: run.id)
    }

    // MARK: stepping runs

    /// Moves a run claimed as due as far as it goes now: through sends, branches and waits already
    /// over, until it waits or ends. Each move is committed before the next is decided.
    func advance(_ claimed: JourneyRun) async throws {
        var run = claimed
        let stepper = try await stepper(run.journey, version: run.version, app: run.app)
        // Every move goes forward in a graph without loops, so the steps bound the moves.
        for _ in 0...(2 * stepper.definition.steps.count + 1) {
            guard let move = try await move(run, stepper: stepper) else { return }
            let next = move.run
            guard try await store.updateJourneyRun(next, log: move.log, effects: move.effects, digest: move.digest) else { return }
            run = next
            run.revision += 1
            guard run.status == .ready, let due = run.dueAt, due <= now() else { return }
        }
    }

    /// The next state of a due run, the log line of the step it ran and the outbox rows to write with
    /// them, or nil when it has nothing to do.
    private func move(_ run: JourneyRun, stepper: JourneyStepper) async throws -> Move? {
        let time = WireTime.truncated(now())
        let step = stepper.definition.steps[run.step]
        var next = run
        switch run.status {
        case .completed, .exited, .failed:
            return nil
        case .waiting:
            return try await moveWaiting(run, stepper: stepper, at: time)
        case .ready:
            guard let user = try await store.user(run.user, in: run.app) else { return nil }
            let userValue = JourneyStepper.userValue(locale: user.locale, timezone: user.timezone, metadata: user.metadata)
            let context = JourneyContext(event: run.context.event, user: userValue)
            switch stepper.arrive(at: run.step, context: context, now: time) {
            case .send(let template, let variables):
                guard user.preferences.admits(stepper.definition.category) else {
                    // Marketing to a customer without consent: nothing is sent, and the run goes on.
                    next.go(to: stepper.following(run.step), at: time)
                    return Move(next, JourneyStepRecord(run: run.id, step: step.id, outcome: "skipped", at: time))
                }
                let category = stepper.definition.category
                // A capped category is counted first, and the decision committed on the run before the
                // send: a send retried after a crash (its item already there) is not counted against itself.
                if category != .security, !run.context.cleared.contains(step.id), let cap = try await settings.settings(of: run.app).journeys.caps[category] {
                    let since = time.addingTimeInterval(-TimeInterval(cap.seconds))
                    guard try await store.itemCount(of: run.user, in: run.app, category: category, since: since) < cap.count else {
                        // Over the app's frequency cap for the category: nothing is sent, and the run goes on.
                        next.go(to: stepper.following(run.step), at: time)
                        return Move(next, JourneyStepRecord(run: run.id, step: step.id, outcome: "capped", at: time))
                    }
                    next.context.cleared.append(step.id)
                    return Move(next, nil)
                }
                return try await send(run, template: template, variables: variables, category: category, stepper: stepper, at: time)
            case .digest(let template, let window, let entry):
                let category = stepper.definition.category
                next.go(to: stepper.following(run.step), at: time)
                guard user.preferences.admits(category) else {
                    return Move(next, JourneyStepRecord(run: run.id, step: step.id, outcome: "skipped", at: time))
                }
                // The entry is added in the transaction that logs the step: once, whatever crashes.
                var move = Move(next, JourneyStepRecord(run: run.id, step: step.id, outcome: "digested", at: time))
                move.digest = DigestEntry(template: template, category: category, windowSeconds: window, step: step.id, variables: entry)
                return move
            case .waitForReadHour:
                let reads = try await store.readTimes(of: run.user, in: run.app, since: time.addingTimeInterval(-ReadHour.lookbackSeconds), limit: ReadHour.maxReads)
                let zone = user.timezone.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "UTC")!
                let until = ReadHour.usual(from: reads, timeZone: zone).map { ReadHour.next(after: time, hour: $0, timeZone: zone) } ?? time
                guard until > time else {
                    // The hour runs now, or nothing is known of the customer's reads: on at once.
                    next.go(to: stepper.following(run.step), at: time)
                    return Move(next, JourneyStepRecord(run: run.id, step: step.id, outcome: "over", at: time))
                }
                next.wait(until: until)
                return Move(next, JourneyStepRecord(run: run.id, step: step.id, outcome: "waiting", at: time))
            case .wait(let until):
                next.wait(until: until)
                return Move(next, JourneyStepRecord(run: run.id, step: step.id, outcome: "waiting", at: time))
            case .waitForEvent(let name, let until):
                next.wait(until: until)
                next.waitEvent = name
                return Move(next, JourneyStepRecord(run: run.id, step: step.id, outcome: "waiting", at: time))
            case .waitForItem(let sendStep, _, let until):
                next.wait(until: until)
                next.waitNotification = run.context.sent[sendStep]
                // The item may be there already (read before the wait began): checked at once.
                next.dueAt = time
                return Move(next, JourneyStepRecord(run: run.id, step: step.id, outcome: "waiting", at: time))
            case .go(let target, let outcome):
                next.go(to: target, at: time)
                return Move(next, JourneyStepRecord(run: run.id, step: step.id, outcome: outcome, at: time))
            case .fallback(let fallback):
                return try await queueFallback(fallback, for: run, stepper: stepper, at: time)
            case .exit:
                next.end(.completed, at: time)
                return Move(next, JourneyStepRecord(run: run.id, step: step.id, outcome: "exit", at: time))
            }
        }
    }

    /// A waiting run that is due: its wait is over, its item reached the state it waits for, or its
    /// item changed short of that (then it waits on, until its deadline).
    private func moveWaiting(_ run: JourneyRun, stepper: JourneyStepper, at time: Date) async throws -> Move? {
        var next = run
        let deadline = run.deadline ?? time
        if case .waitFor(.item(_, let wanted), _, _) = stepper.definition.steps[run.step].action, let notification = run.waitNotification,
            let item = try await store.journeyItemState(of: notification, user: run.user, in: run.app),
            JourneyStepper.itemState(item.state, satisfies: wanted)
        {
            next.context.event = item.contextValue(at: time)
            next.go(to: stepper.following(run.step), at: time)
            return Move(next, nil)
        }
        guard deadline <= time else {
            next.dueAt = deadline
            return Move(next, nil)
        }
        switch stepper.definition.steps[run.step].action {
        case .wait, .waitUntilReadHour:
            next.go(to: stepper.following(run.step), at: time)
        default:
            next.go(to: stepper.afterTimeout(run.step), at: time)
        }
        return Move(next, nil)
    }

    private func send(
        _ run: JourneyRun, template: TemplateKey, variables: [String: JSONValue], category: NotificationCategory, stepper: JourneyStepper, at time: Date
    ) async throws -> Move {
        let step = stepper.definition.steps[run.step]
        var next = run
        let new = NewNotification(audience: .users([run.user]), category: category, source: .template(template, variables: variables), journey: run.journey)
        // The key is the run and the step: a send repeated after a crash returns the first notification.
        guard let key = ClientMessageID(rawValue: step.id) else { throw JourneyVersionMissing(key: run.journey, version: run.version) }
        let idempotency = IdempotencyKey(scope: "journey:\(run.id.rawValue)", key: key, request: Data(), user: run.user, requiresSameRequest: false)
        do {
            let (report, _) = try await notifications.send(new, app: run.app, idempotency: idempotency)
            next.context.sent[step.id] = report.id
            next.go(to: stepper.following(run.step), at: time)
            return Move(next, JourneyStepRecord(run: run.id, step: step.id, outcome: "sent", notification: report.id, at: time))
        } catch let error as HeraldError {
            switch error {
            case .invalid, .notFound, .tooLarge:
                // The template refused this send (it is gone, or a variable is missing): no retry changes
                // that, so the run stops here, saying why.
                next.end(.failed, at: time)
                next.failure = "step \(step.id): \(JourneyService.summary(of: error))"
                return Move(next, JourneyStepRecord(run: run.id, step: step.id, outcome: "failed", at: time))
            default:
                throw error
            }
        }
    }

    /// What a refused send is stopped with: the problem's kind and fields, never a value.
    static func summary(of error: HeraldError) -> String {
        switch error {
        case .invalid(let problems): "refused: " + problems.map { "\($0.field) \($0.reason.rawValue)" }.joined(separator: ", ")
        case .notFound(let resource): "\(resource) not found"
        case .tooLarge: "the message is too large"
        default: "refused"
        }
    }

    /// Queues the fallback of the item the send step made, in the transaction that moves the run on:
    /// the outbox row (`FallbackWorker`) holds the channel and the text with the item's reference. With
    /// no item (marketing skipped, or held for quiet hours), there is nothing to point at: skipped.
    private func queueFallback(_ fallback: JourneyDefinition.Fallback, for run: JourneyRun, stepper: JourneyStepper, at time: Date) async throws -> Move {
        let step = stepper.definition.steps[run.step]
        var next = run
        next.go(to: stepper.following(run.step), at: time)
        guard let notification = run.context.sent[fallback.item],
            let item = try await store.journeyItemState(of: notification, user: run.user, in: run.app)
        else { return Move(next, JourneyStepRecord(run: run.id, step: step.id, outcome: "skipped", at: time)) }
        let reference = InboxItem.reference(of: item.item)
        var payload = fallback.message.payload(reference: reference)
        payload["run"] = .string(run.id.rawValue)
        let entry = OutboxEntry(kind: .fallback, user: run.user, subject: item.item.rawValue, payload: JSONValue.object(payload).compactString, availableAt: time)
        return Move(next, JourneyStepRecord(run: run.id, step: step.id, outcome: "queued", notification: notification, at: time), effects: [entry])
    }

    /// What a step decided: the run's next state, the step's log line, and outbox rows to write with them.
    struct Move {
        var run: JourneyRun
        var log: JourneyStepRecord?
        var effects: [OutboxEntry] = []
        var digest: DigestEntry?

        init(_ run: JourneyRun, _ log: JourneyStepRecord?, effects: [OutboxEntry] = []) {
            self.run = run
            self.log = log
            self.effects = effects
        }
    }

    // MARK: steppers

    private func stepper(for journey: Journey, app: AppID) -> JourneyStepper {
        let key = "\(app.rawValue)|\(journey.key.rawValue)|\(journey.version)"
        if let cached = steppers.withLock({ $0[key] }) { return cached }
        let stepper = JourneyStepper(journey.definition)
        steppers.withLock { cache in
            if cache.count >= Self.stepperCacheLimit { cache.removeAll() }
            cache[key] = stepper
        }
        return stepper
    }

    private func stepper(_ key: JourneyKey, version: Int, app: AppID) async throws -> JourneyStepper {
        guard let journey = try await store.journey(key, version: version, in: app) else { throw JourneyVersionMissing(key: key, version: version) }
        return stepper(for: journey, app: app)
    }
}

/// A run whose journey version is not in the store (it was stored when the run entered, so only a
/// damaged store gets here).
struct JourneyVersionMissing: Error, CustomStringConvertible {
    var key: JourneyKey
    var version: Int
    var description: String { "journey \(key) has no version \(version)" }
}

/// A run that kept moving under an event that wanted to move it too; the event is tried again later.
struct JourneyRunContention: Error, CustomStringConvertible {
    var run: JourneyRunID
    var description: String { "journey run \(run) kept changing while an event was applied to it" }
}

extension JourneyRun {
    /// Ready at `target` now, or completed when there is no next step; whatever it waited on, forgotten.
    mutating func go(to target: Int?, at time: Date) {
        deadline = nil
        waitEvent = nil
        waitNotification = nil
        guard let target else {
            end(.completed, at: time)
            return
        }
        status = .ready
        step = target
        dueAt = time
    }

    mutating func wait(until: Date) {
        status = .waiting
        deadline = until
        dueAt = until
    }

    mutating func end(_ status: Status, at time: Date) {
        self.status = status
        dueAt = nil
        deadline = nil
        waitEvent = nil
        waitNotification = nil
        endedAt = time
    }
}
