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

    /// What in a journey's declaration makes the database record item events for the app (the
    /// `journeyItemEvents` table, read by the triggers on `inboxItem`): naming one. Once written, the app
    /// keeps it: older versions may still have runs waiting for such an event.
    static let itemEventNeedle = "\"item."

    static func namesItemEvents(_ definition: String) -> Bool { definition.contains(itemEventNeedle) }

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
}
