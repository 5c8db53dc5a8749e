import Foundation
import HeraldCore

/// What both backends decide the same way about journeys: the outbox row an event makes, the error for
/// an unknown customer, a run that moved under a writer, and the report's arithmetic.
enum JourneyRules {
    /// The outbox row that makes the journeys act on `event`, written in the event's transaction.
    static func outboxEntry(for event: CustomerEvent) -> OutboxEntry {
        OutboxEntry(kind: .journeyEvent, user: event.user, subject: event.id.rawValue, payload: "", availableAt: event.recordedAt)
    }

    /// The events Herald records when a customer is created or their profile replaced (`PUT
    /// /v1/users/{id}`), in the same transaction: `user.created` (`{"metadata"}`) and `user.updated`
    /// (`{"metadata", "previousMetadata"}`), from which a segment trigger tells a customer entering
    /// the segment (`JourneyStepper.isTriggered`).
    static let userCreated = "user.created"
    static let userUpdated = "user.updated"

    /// What in a journey's declaration makes Herald record profile events: naming one, or a segment
    /// trigger. Only then is one recorded, so an app without such journeys (or a bulk import) writes no
    /// event per customer. A literal that happens to spell one only records an event nobody acts on.
    static let profileEventNeedles = ["\"user.created\"", "\"user.updated\"", "\"segment\""]

    /// The item events a journey's declaration names (`"item.read"`, quoted): the database records each
    /// for the app from then on (the `journeyItemEvents` table, read by the triggers on `inboxItem`), and
    /// only those. The app keeps them: older versions may still have runs waiting for such an event. A
    /// literal that happens to spell one only records events nobody acts on.
    static func itemEventStates(named definition: String) -> [String] {
        CustomerEvent.ItemState.allCases.filter { definition.contains("\"\($0.eventName)\"") }.map(\.rawValue)
    }

    /// Whether a version of a journey of the app holds one of the needles (`?`/`$1` the app, then one
    /// placeholder per needle).
    static func namesProfileEventsSQL(app: String, needles: [String], sqlite: Bool) -> String {
        let test = sqlite ? "instr(definition, %@) > 0" : "strpos(definition, %@) > 0"
        let tests = needles.map { test.replacingOccurrences(of: "%@", with: $0) }.joined(separator: " OR ")
        return "SELECT EXISTS (SELECT 1 FROM journey WHERE appID = \(app) AND (\(tests)))"
    }

    /// The profile event for `user` at `time` (milliseconds), sealed with their key, and its outbox row:
    /// `user.created` when `previous` is nil, `user.updated` otherwise.
    static func profileEvent(
        _ user: UserID, metadata: [String: JSONValue], previous: [String: JSONValue]?, app: AppID, at time: Int64, key: DataKey
    ) throws -> (CustomerEventRecord, OutboxEntry) {
        let date = WireTime.date(milliseconds: time)
        var properties: [String: JSONValue] = ["metadata": .object(metadata)]
        if let previous { properties["previousMetadata"] = .object(previous) }
        let event = CustomerEvent(
            id: .generate(at: date), user: user, name: previous == nil ? userCreated : userUpdated, properties: properties, occurredAt: date, recordedAt: date)
        return (try CustomerEventRecord(event, app: app, key: key), outboxEntry(for: event))
    }

    /// The event Herald records when a customer's preferences change (`PUT /v1/me/preferences`), in the
    /// same transaction, when a journey names it: `{"preferences", "previousPreferences"}`, as the
    /// preferences read on the wire. A journey can then greet a customer who just consented to marketing.
    static let preferencesUpdated = "user.preferences.updated"
    static let preferencesEventNeedles = ["\"\(preferencesUpdated)\""]

    static func preferencesEvent(
        _ user: UserID, preferences: UserPreferences, previous: UserPreferences, app: AppID, at time: Int64, key: DataKey
    ) throws -> (CustomerEventRecord, OutboxEntry) {
        let date = WireTime.date(milliseconds: time)
        let properties: [String: JSONValue] = [
            "preferences": try JSONValue.parse(WireJSON.encoder().encode(preferences)),
            "previousPreferences": try JSONValue.parse(WireJSON.encoder().encode(previous)),
        ]
        let event = CustomerEvent(id: .generate(at: date), user: user, name: preferencesUpdated, properties: properties, occurredAt: date, recordedAt: date)
        return (try CustomerEventRecord(event, app: app, key: key), outboxEntry(for: event))
    }

    static func unknownUser(_ user: UserID) -> HeraldError {
        .invalid([FieldProblem(field: "userId", reason: .unknownUser, detail: "no such user: \(user.rawValue)")])
    }

    /// Thrown inside a transaction whose run was moved by someone else (its revision changed), so that
    /// the step logged with the move is rolled back too.
    struct RunMoved: Error {}

    /// `body`, with a run that moved meanwhile answered as `false`.
    static func refusingMovedRuns(_ body: () async throws -> Bool) async throws -> Bool {
        do {
            return try await body()
        } catch is RunMoved {
            return false
        }
    }

    /// One row of the report's query: runs through `step` that ended it with `outcome`, and how far
    /// the items it sent got.
    struct StepCount {
        var step: String
        var outcome: String
        var runs: Int
        var delivered: Int
        var read: Int
        var acted: Int
    }

    static func report(_ key: JourneyKey, statuses: [(String, Int)], steps: [StepCount]) -> JourneyReport {
        var byStep: [String: JourneyReport.Step] = [:]
        for count in steps {
            var step = byStep[count.step] ?? JourneyReport.Step(step: count.step, outcomes: [:])
            step.outcomes[count.outcome, default: 0] += count.runs
            step.delivered += count.delivered
            step.read += count.read
            step.acted += count.acted
            byStep[count.step] = step
        }
        let runs = Dictionary(statuses, uniquingKeysWith: +)
        return JourneyReport(key: key, entries: runs.values.reduce(0, +), runs: runs, steps: byStep.values.sorted { $0.step < $1.step })
    }

    /// A run as the customer's export shows it (its context is the business's working state, not shown).
    static func exportEntry(_ record: JourneyRunRecord) -> UserExport.JourneyEntry {
        UserExport.JourneyEntry(
            journey: record.journeyKey, version: record.version, status: record.status.rawValue, enteredAt: WireTime.date(milliseconds: record.enteredAt),
            endedAt: record.endedAt.map { WireTime.date(milliseconds: $0) })
    }

    /// A line of the fallback delivery log as stored; a channel or outcome that does not read is an error.
    static func fallbackDelivery(
        user: UserID, item: InboxItemID, channel: String, attempt: Int, outcome: String, statusCode: Int?, reason: String?, at: Int64
    ) throws -> FallbackDelivery {
        guard let channel = JourneyDefinition.FallbackChannel(rawValue: channel), let outcome = FallbackDelivery.Outcome(rawValue: outcome) else {
            throw StoreCorruption.undecodableRow
        }
        return FallbackDelivery(
            user: user, item: item, channel: channel, attempt: attempt, outcome: outcome, statusCode: statusCode, reason: reason,
            at: WireTime.date(milliseconds: at))
    }

    // MARK: digests

    static let openDigest = "open"
    /// The statuses of a digest whose message was sent or refused, as SQL (both dialects).
    static let finishedDigestStatuses = "('sent', 'failed')"

    /// An entry's variables, sealed with the customer's key for its digest, run and step.
    static func sealDigestEntry(_ entry: DigestEntry, digest: JourneyDigestID, run: JourneyRun, key: DataKey) throws -> Data {
        try key.seal(
            JSONValue.object(entry.variables).canonicalData(),
            context: SealingContext.journeyDigestEntry(app: run.app, digest: digest, run: run.id, step: entry.step))
    }

    static func openDigestEntry(_ sealed: Data, digest: JourneyDigestID, run: JourneyRunID, step: String, app: AppID, key: DataKey) throws -> [String: JSONValue] {
        let opened = try key.open(sealed, context: SealingContext.journeyDigestEntry(app: app, digest: digest, run: run, step: step))
        guard case .object(let variables)? = try? JSONValue.parse(opened) else { throw StoreCorruption(table: "journeyDigestEntry", id: digest.rawValue) }
        return variables
    }

    /// The customer's digest entries not sent yet, as their export reads them (both dialects; `app` and
    /// `user` the placeholders).
    static func pendingDigestEntriesSQL(app: String, user: String) -> String {
        """
        SELECT e.digestID, e.runID, e.step, e.sealed, e.at, d.template FROM journeyDigestEntry e JOIN journeyDigest d ON d.id = e.digestID
        WHERE e.appID = \(app) AND e.userID = \(user) ORDER BY e.position
        """
    }

    static func exportDigestEntry(
        digest: JourneyDigestID, run: JourneyRunID, step: String, sealed: Data, at: Int64, template: TemplateKey, app: AppID, key: DataKey
    ) throws -> UserExport.DigestEntry {
        UserExport.DigestEntry(
            template: template, step: step, addedAt: WireTime.date(milliseconds: at),
            variables: try openDigestEntry(sealed, digest: digest, run: run, step: step, app: app, key: key))
    }

    /// The outbox row that sends a new digest when its window ends.
    static func digestOutbox(_ id: JourneyDigestID, user: UserID, windowEnd: Int64) -> OutboxEntry {
        OutboxEntry(kind: .journeyDigest, user: user, subject: id.rawValue, payload: "", availableAt: WireTime.date(milliseconds: windowEnd))
    }

    /// When a digest opened at `time` for `entry` ends (milliseconds; the window is at most a week).
    static func windowEnd(from time: Int64, _ entry: DigestEntry) -> Int64 {
        time &+ entry.windowSeconds &* 1_000
    }

    /// A digest as read back: its status a closed or finished one's, its category one Herald knows.
    /// A digest as both backends read it, its entries still sealed: opened (outside any transaction)
    /// with the customer's key into what `closeDigest` returns.
    struct StoredDigest: Sendable {
        var user: UserID
        var template: TemplateKey
        var category: String
        var journey: JourneyKey
        var status: String
        var count: Int
        var entries: [(run: JourneyRunID, step: String, sealed: Data)]

        /// - Throws: `StoreCorruption` for a status or category that does not read, or an entry that does not open.
        func opened(_ id: JourneyDigestID, app: AppID, key: DataKey) throws -> ClosedDigest {
            guard let category = NotificationCategory(rawValue: category), ["open", "closed", "sent", "failed"].contains(status) else {
                throw StoreCorruption(table: "journeyDigest", id: id.rawValue)
            }
            let variables = try entries.map { try JourneyRules.openDigestEntry($0.sealed, digest: id, run: $0.run, step: $0.step, app: app, key: key) }
            return ClosedDigest(
                id: id, user: user, template: template, category: category, journey: journey, entries: variables, count: count,
                isFinished: status == "sent" || status == "failed")
        }
    }

    /// The entries a closed digest reads (its message lists no more), in the order they were added
    /// (`position`: SQLite's rowid, a sequence on PostgreSQL).
    static let digestEntriesSQL = "ORDER BY position LIMIT \(JourneyDigest.maxItems)"
}
