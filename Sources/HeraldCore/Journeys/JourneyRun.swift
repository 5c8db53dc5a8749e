public import Foundation

/// One customer's way through one version of a journey: where they stand, and when Herald must look
/// again. It lives in the store, never in memory, so a restart (or another node) carries on from the
/// last step committed.
///
/// Every change is written against the `revision` it was decided on (compare and set), so two nodes
/// that both picked the run up cannot both move it; and each step's run is logged under a key of the
/// run and the step, which the store refuses twice.
public struct JourneyRun: Equatable, Sendable {
    public enum Status: String, Sendable, CaseIterable, Codable {
        /// Due to run its current step at `dueAt`.
        case ready
        /// Inside a `wait` or a `waitFor`: looked at again at `dueAt` (its deadline, or sooner when
        /// the item it waits on changes).
        case waiting
        /// Reached an `exit` step or the end of its steps.
        case completed
        /// Left on one of the journey's `exitOn` events.
        case exited
        /// Stopped at a step that could not run (a send its template refused): named in `failure`.
        case failed

        public var hasEnded: Bool { self == .completed || self == .exited || self == .failed }
    }

    public var id: JourneyRunID
    public var app: AppID
    public var journey: JourneyKey
    public var version: Int
    public var user: UserID
    public var status: Status
    /// The index of the step it is at (or ended at) in its version's steps.
    public var step: Int
    /// When a worker should next look at it; nil once it has ended.
    public var dueAt: Date?
    /// The end of a `wait`, or a `waitFor`'s timeout.
    public var deadline: Date?
    /// The event a `waitFor` step waits for, so that arriving events find their runs by index.
    public var waitEvent: String?
    /// The notification whose item a `waitFor` step waits on, so that the item's changes wake the run.
    public var waitNotification: NotificationID?
    /// Sealed at rest: the latest event it acted on, and what each send step sent.
    public var context: Context
    /// The event that started it: the store keeps one run per journey and trigger event, so an event
    /// processed twice (after a crash) never starts a journey twice.
    public var trigger: EventID?
    public var revision: Int64
    public var enteredAt: Date
    public var endedAt: Date?
    /// Why a run `failed` (the problem, never content).
    public var failure: String?

    public struct Context: Equatable, Sendable {
        /// The trigger at first, then the event that ended each `waitFor`: `event` in conditions and variables.
        public var event: JSONValue
        /// The notification each send step made, by step id.
        public var sent: [String: NotificationID]
        /// The events that ended its waits (the latest `maxHandled`): an event acted on again (a retry
        /// after a crash) is recognized and moves nothing, whatever the clock says.
        public var handled: [EventID]

        /// The send steps the frequency cap let through (decided and committed before the send, so a
        /// send retried after a crash is not counted against itself).
        public var cleared: [String]

        public static let maxHandled = 32

        public init(event: JSONValue, sent: [String: NotificationID] = [:], handled: [EventID] = [], cleared: [String] = []) {
            self.event = event
            self.sent = sent
            self.handled = handled
            self.cleared = cleared
        }

        /// Notes that `event` ended a wait.
        public mutating func handle(_ event: EventID) {
            handled.append(event)
            if handled.count > Self.maxHandled { handled.removeFirst(handled.count - Self.maxHandled) }
        }

        /// The stored form (before sealing): `{"event": …, "sent": {step: id}, "handled": [id], "cleared": [step]}`.
        public var json: JSONValue {
            .object([
                "event": event, "sent": .object(sent.mapValues { .string($0.rawValue) }), "handled": .array(handled.map { .string($0.rawValue) }),
                "cleared": .array(cleared.map(JSONValue.string)),
            ])
        }

        /// Reads the stored form back; nil when it is not one (a damaged row, never a default).
        public init?(json: JSONValue) {
            guard case .object(let object) = json, let event = object["event"], case .object(let sentObject)? = object["sent"] else { return nil }
            var sent: [String: NotificationID] = [:]
            for (step, value) in sentObject {
                guard case .string(let text) = value, let id = NotificationID(rawValue: text) else { return nil }
                sent[step] = id
            }
            var handled: [EventID] = []
            if case .array(let values)? = object["handled"] {
                for value in values {
                    guard case .string(let text) = value, let id = EventID(rawValue: text) else { return nil }
                    handled.append(id)
                }
            }
            var cleared: [String] = []
            if case .array(let values)? = object["cleared"] {
                for value in values {
                    guard case .string(let step) = value else { return nil }
                    cleared.append(step)
                }
            }
            self.init(event: event, sent: sent, handled: handled, cleared: cleared)
        }
    }

    public init(
        id: JourneyRunID, app: AppID, journey: JourneyKey, version: Int, user: UserID, status: Status, step: Int, dueAt: Date?, deadline: Date? = nil,
        waitEvent: String? = nil, waitNotification: NotificationID? = nil, context: Context, trigger: EventID?, revision: Int64 = 0, enteredAt: Date,
        endedAt: Date? = nil, failure: String? = nil
    ) {
        self.id = id
        self.app = app
        self.journey = journey
        self.version = version
        self.user = user
        self.status = status
        self.step = step
        self.dueAt = dueAt
        self.deadline = deadline
        self.waitEvent = waitEvent
        self.waitNotification = waitNotification
        self.context = context
        self.trigger = trigger
        self.revision = revision
        self.enteredAt = enteredAt
        self.endedAt = endedAt
        self.failure = failure
    }
}

/// A line of a run's step log: the store keeps one per run and step, and refuses a second, so a step
/// runs at most once for each entry whatever crashes or races happen around it.
public struct JourneyStepRecord: Equatable, Sendable {
    public var run: JourneyRunID
    public var step: String
    /// What the step did: `sent`, `waited`, `branched`, `exited`, `failed`…
    public var outcome: String
    /// The notification a send step made.
    public var notification: NotificationID?
    public var at: Date

    public init(run: JourneyRunID, step: String, outcome: String, notification: NotificationID? = nil, at: Date) {
        self.run = run
        self.step = step
        self.outcome = outcome
        self.notification = notification
        self.at = at
    }
}
