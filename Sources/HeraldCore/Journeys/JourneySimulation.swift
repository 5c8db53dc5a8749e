public import Foundation

/// A journey walked for one customer without sending anything (`POST /v1/journeys/{key}/dry-run`):
/// which steps would run, when (counted from the entry), and what each would send, given the events
/// that would arrive and how the customer would treat the items. The same rules as a real run
/// (`JourneyStepper`), on a clock of its own.
public enum JourneySimulation {
    /// An event of the walk: `after` seconds from the entry (the first event is the trigger, at 0).
    public struct Event: Sendable {
        public var name: String
        public var properties: [String: JSONValue]
        public var after: Int64

        public init(name: String, properties: [String: JSONValue], after: Int64) {
            self.name = name
            self.properties = properties
            self.after = after
        }

        func customerEvent(user: UserID) -> CustomerEvent {
            let time = Date(timeIntervalSince1970: TimeInterval(after))
            return CustomerEvent(id: .generate(at: time), user: user, name: name, properties: properties, occurredAt: time, recordedAt: time)
        }
    }

    /// Reads the body of a dry run: `{"userId", "events": [{"name", "properties"?, "after"?}], "items"?: {step: state}}`,
    /// at most 20 events, `after` a duration (`"2d"`) from the entry, the first event the trigger.
    public static func readRequest(_ body: Data) throws(HeraldError) -> (user: UserID, events: [Event], items: [String: JourneyDefinition.ItemState]) {
        var reader = try ObjectReader(body: body)
        let userText = reader.string("userId", required: true)
        let user = userText.flatMap(UserID.init(rawValue:))
        if userText != nil, user == nil { reader.report("userId", .invalidIdentifier) }
        var events: [Event] = []
        if case .array(let values)? = reader.value("events") {
            if values.isEmpty || values.count > 20 { reader.report("events", .invalidValue, detail: "1 to 20 events, the first the trigger") }
            for (index, value) in values.prefix(20).enumerated() {
                guard var part = try? ObjectReader(value, path: "events[\(index)].") else {
                    reader.report("events[\(index)]", .wrongType, detail: "an object")
                    continue
                }
                let name = part.string("name", required: true)
                if let name, !JourneyDefinition.isEventName(name) { part.report("name", .invalidValue, detail: "an event name") }
                let properties = part.object("properties", maxBytes: NewCustomerEvent.maxPropertiesBytes) ?? [:]
                var after: Int64 = 0
                if let text = part.string("after") {
                    if let seconds = JourneyDefinition.parseDuration(text) { after = seconds } else { part.report("after", .invalidValue, detail: "a duration such as 10m or 2d") }
                }
                reader.absorb(part)
                if let name, JourneyDefinition.isEventName(name) { events.append(Event(name: name, properties: properties, after: index == 0 ? 0 : after)) }
            }
        } else {
            reader.report("events", .required, detail: "1 to 20 events, the first the trigger")
        }
        var items: [String: JourneyDefinition.ItemState] = [:]
        for (step, value) in reader.object("items", maxBytes: 4_096) ?? [:] {
            guard case .string(let text) = value, let state = JourneyDefinition.ItemState(rawValue: text) else {
                reader.report("items.\(step)", .invalidValue, detail: "delivered, read or acted")
                continue
            }
            items[step] = state
        }
        try reader.finish()
        guard let user else { throw .invalid([FieldProblem(field: "userId", reason: .required)]) }
        return (user, events, items)
    }

    public struct Input: Sendable {
        public var user: UserID
        /// The customer as conditions see them (`JourneyStepper.userValue`).
        public var profile: JSONValue
        /// Whether the customer takes messages of the journey's category (marketing needs consent).
        public var admitsCategory: Bool
        public var events: [Event]
        /// How far the customer takes the item each send step makes (absent: not even delivered).
        public var items: [String: JourneyDefinition.ItemState]

        public init(user: UserID, profile: JSONValue, admitsCategory: Bool, events: [Event], items: [String: JourneyDefinition.ItemState]) {
            self.user = user
            self.profile = profile
            self.admitsCategory = admitsCategory
            self.events = events.sorted { $0.after < $1.after }
            self.items = items
        }
    }

    /// What a send would show: the rendered title and body, in the customer's locale.
    public struct Preview: Equatable, Sendable, Encodable {
        public var title: String
        public var body: String
        public var locale: String?

        public init(title: String, body: String, locale: String?) {
            self.title = title
            self.body = body
            self.locale = locale
        }
    }

    public struct Step: Equatable, Sendable, Encodable {
        public var step: String
        /// Seconds from the entry at which the step runs.
        public var after: Int64
        /// What the step did: as in the report (`sent`, `skipped`, `waiting`, `then`, `else`, `queued`,
        /// `exit`, `failed`), or for a wait how it ended (`event`, `item`, `timeout`, `over`).
        public var outcome: String
        public var sends: Preview?
        /// A fallback's channel and text (the reference shown as `{{reference}}`).
        public var fallback: [String: String]?
        public var detail: String?
    }

    public struct Walk: Equatable, Sendable, Encodable {
        public var entered: Bool
        public var steps: [Step]
        /// `completed`, `exited`, `failed`, or `not_entered`.
        public var ends: String
        /// Seconds from the entry at which it ends.
        public var endsAfter: Int64
        public var detail: String?
    }

    /// Walks `stepper`'s journey. `render` renders a template with variables for the customer, or says
    /// why it would refuse (the message a failed send would carry).
    public static func walk(
        _ stepper: JourneyStepper, input: Input, render: (TemplateKey, [String: JSONValue]) -> Result<Preview, HeraldError>
    ) -> Walk {
        let definition = stepper.definition
        guard let trigger = input.events.first, stepper.isTriggered(by: trigger.customerEvent(user: input.user), user: input.profile) else {
            return Walk(entered: false, steps: [], ends: "not_entered", endsAfter: 0, detail: "the first event does not match the journey's trigger")
        }
        var steps: [Step] = []
        var time: Int64 = 0
        var index: Int? = 0
        var event = trigger.customerEvent(user: input.user).contextValue
        let later = Array(input.events.dropFirst())
        func exitEvent(through end: Int64) -> Event? {
            later.first { $0.after >= 0 && $0.after <= end && stepper.exits(on: $0.customerEvent(user: input.user), user: input.profile) }
        }
        for _ in 0...(2 * definition.steps.count + 1) {
            guard let current = index else { return Walk(entered: true, steps: steps, ends: "completed", endsAfter: time) }
            if let exit = exitEvent(through: time) {
                return Walk(entered: true, steps: steps, ends: "exited", endsAfter: exit.after, detail: "on \(exit.name)")
            }
            let step = definition.steps[current]
            let now = Date(timeIntervalSince1970: TimeInterval(time))
            let context = JourneyContext(event: event, user: input.profile)
            switch stepper.arrive(at: current, context: context, now: now) {
            case .send(let template, let variables):
                guard input.admitsCategory else {
                    steps.append(Step(step: step.id, after: time, outcome: "skipped", detail: "no consent to marketing"))
                    index = stepper.following(current)
                    continue
                }
                switch render(template, variables) {
                case .success(let preview):
                    steps.append(Step(step: step.id, after: time, outcome: "sent", sends: preview))
                    index = stepper.following(current)
                case .failure(let error):
                    let detail = "the template refuses this send: \(error)"
                    steps.append(Step(step: step.id, after: time, outcome: "failed", detail: detail))
                    return Walk(entered: true, steps: steps, ends: "failed", endsAfter: time, detail: detail)
                }
            case .digest(let template, let window, let entry):
                guard input.admitsCategory else {
                    steps.append(Step(step: step.id, after: time, outcome: "skipped", detail: "no consent to marketing"))
                    index = stepper.following(current)
                    continue
                }
                // The digest as it would read with this entry alone; it goes out when its window ends.
                switch render(template, JourneyDigest.variables(entries: [entry])) {
                case .success(let preview):
                    steps.append(Step(step: step.id, after: time, outcome: "digested", sends: preview, detail: "sent with the others within \(window) s"))
                    index = stepper.following(current)
                case .failure(let error):
                    let detail = "the digest's template refuses this entry: \(error)"
                    steps.append(Step(step: step.id, after: time, outcome: "failed", detail: detail))
                    return Walk(entered: true, steps: steps, ends: "failed", endsAfter: time, detail: detail)
                }
            case .wait(let until):
                let end = seconds(until)
                steps.append(Step(step: step.id, after: time, outcome: "over", detail: "waits until \(end) s"))
                if let exit = exitEvent(through: end) {
                    return Walk(entered: true, steps: steps, ends: "exited", endsAfter: exit.after, detail: "on \(exit.name)")
                }
                time = end
                index = stepper.following(current)
            case .waitForReadHour:
                // The hour is learned from reads the walk does not have: it goes on at once.
                steps.append(Step(step: step.id, after: time, outcome: "over", detail: "waits for the customer's usual read hour"))
                index = stepper.following(current)
            case .waitForEvent(_, let until):
                let end = seconds(until)
                let awaited = later.first { candidate in
                    candidate.after >= time && candidate.after <= end && stepper.awaits(candidate.customerEvent(user: input.user), at: current, user: input.profile)
                }
                if let exit = exitEvent(through: awaited?.after ?? end), exit.after <= (awaited?.after ?? end) {
                    steps.append(Step(step: step.id, after: time, outcome: "waiting"))
                    return Walk(entered: true, steps: steps, ends: "exited", endsAfter: exit.after, detail: "on \(exit.name)")
                }
                if let awaited {
                    steps.append(Step(step: step.id, after: time, outcome: "event", detail: "\(awaited.name) after \(awaited.after) s"))
                    event = awaited.customerEvent(user: input.user).contextValue
                    time = awaited.after
                    index = stepper.following(current)
                } else {
                    steps.append(Step(step: step.id, after: time, outcome: "timeout", detail: "nothing by \(end) s"))
                    time = end
                    index = stepper.afterTimeout(current)
                }
            case .waitForItem(let sendStep, let state, let until):
                if let reached = input.items[sendStep], JourneyStepper.itemState(reached, satisfies: state) {
                    steps.append(Step(step: step.id, after: time, outcome: "item", detail: "the \(sendStep) item is \(reached.rawValue)"))
                    event = .object(["name": .string("item." + reached.rawValue), "properties": .object(["state": .string(reached.rawValue)])])
                    index = stepper.following(current)
                } else {
                    let end = seconds(until)
                    steps.append(Step(step: step.id, after: time, outcome: "timeout", detail: "the \(sendStep) item is not \(state.rawValue) by \(end) s"))
                    if let exit = exitEvent(through: end) {
                        return Walk(entered: true, steps: steps, ends: "exited", endsAfter: exit.after, detail: "on \(exit.name)")
                    }
                    time = end
                    index = stepper.afterTimeout(current)
                }
            case .go(let target, let outcome):
                steps.append(Step(step: step.id, after: time, outcome: outcome))
                index = target
            case .fallback(let fallback):
                let read = input.items[fallback.item].map { JourneyStepper.itemState($0, satisfies: .read) } ?? false
                var shown = ["channel": fallback.channel.rawValue, "text": fallback.message.text.template]
                if let subject = fallback.message.subject { shown["subject"] = subject.template }
                steps.append(Step(step: step.id, after: time, outcome: read ? "not_needed" : "queued", fallback: shown))
                index = stepper.following(current)
            case .exit:
                steps.append(Step(step: step.id, after: time, outcome: "exit"))
                return Walk(entered: true, steps: steps, ends: "completed", endsAfter: time)
            }
        }
        return Walk(entered: true, steps: steps, ends: "completed", endsAfter: time)
    }

    private static func seconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded()) }
}
