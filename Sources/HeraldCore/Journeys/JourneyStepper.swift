public import Foundation

/// The rules of moving a run through its journey's steps, without side effects: what a step does when
/// a run reaches it, where a run goes after it, and which events end or continue a run. The server's
/// worker carries out what it decides and the store commits it; both backends and every node follow
/// these rules alone.
public struct JourneyStepper: Sendable {
    public let definition: JourneyDefinition
    private let positions: [String: Int]

    public init(_ definition: JourneyDefinition) {
        self.definition = definition
        positions = Dictionary(definition.steps.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// What a step does when a run reaches it.
    public enum Arrival: Equatable, Sendable {
        /// Send the template to the customer, with these variables; then go to `following`.
        case send(template: TemplateKey, variables: [String: JSONValue])
        /// Add an entry with these variables to the customer's digest of the template; then go to `following`.
        case digest(template: TemplateKey, windowSeconds: Int64, entry: [String: JSONValue])
        /// Wait until `until`, for nothing but time.
        case wait(until: Date)
        /// Wait until the customer's usual read hour (the caller knows their reads).
        case waitForReadHour
        /// Wait until `until` for an event of this name (whose condition `awaits` checks).
        case waitForEvent(name: String, until: Date)
        /// Wait until `until` for the item that the send step `sendStep` made to reach `state`.
        case waitForItem(sendStep: String, state: JourneyDefinition.ItemState, until: Date)
        /// Go straight on to the step at this index, or end (nil).
        case go(to: Int?, outcome: String)
        /// Tell the customer outside the app that the item of the send step `fallback.item` waits; then go to `following`.
        case fallback(JourneyDefinition.Fallback)
        /// End the run here.
        case exit
    }

    /// What the step at `index` does for a run that reaches it at `now`.
    public func arrive(at index: Int, context: JourneyContext, now: Date) -> Arrival {
        let step = definition.steps[index]
        switch step.action {
        case .send(let template, let variables):
            return .send(template: template, variables: Self.resolve(variables, in: context))
        case .digest(let template, let window, let variables):
            return .digest(template: template, windowSeconds: window, entry: Self.resolve(variables, in: context))
        case .wait(let seconds):
            return .wait(until: now.addingTimeInterval(TimeInterval(seconds)))
        case .waitUntilReadHour:
            return .waitForReadHour
        case .waitFor(.event(let name, _), let timeout, _):
            return .waitForEvent(name: name, until: now.addingTimeInterval(TimeInterval(timeout)))
        case .waitFor(.item(let sendStep, let state), let timeout, _):
            return .waitForItem(sendStep: sendStep, state: state, until: now.addingTimeInterval(TimeInterval(timeout)))
        case .branch(let condition, let then, let otherwise):
            let holds = condition.holds(in: context)
            let target = holds ? then : otherwise
            return .go(to: target.flatMap { positions[$0] } ?? following(index), outcome: holds ? "then" : "else")
        case .fallback(let fallback):
            return .fallback(fallback)
        case .exit:
            return .exit
        }
    }

    /// The variables' values for this run; a path that names nothing leaves its variable out.
    static func resolve(_ variables: [String: JourneyValue], in context: JourneyContext) -> [String: JSONValue] {
        var values: [String: JSONValue] = [:]
        for (name, value) in variables {
            if let resolved = value.value(in: context) { values[name] = resolved }
        }
        return values
    }

    /// Where a run goes once the step at `index` is done (a send sent, a wait over, the awaited event
    /// or item state arrived): its `next`, or the step written after it; nil at the end.
    public func following(_ index: Int) -> Int? {
        let step = definition.steps[index]
        if let next = step.next { return positions[next] }
        return index + 1 < definition.steps.count ? index + 1 : nil
    }

    /// Where a run goes when the `waitFor` at `index` times out: its `onTimeout`, else on as after it.
    public func afterTimeout(_ index: Int) -> Int? {
        if case .waitFor(_, _, let onTimeout?) = definition.steps[index].action { return positions[onTimeout] }
        return following(index)
    }

    /// Whether `event` takes a run out of this journey (one of its `exitOn` rules holds).
    public func exits(on event: CustomerEvent, user: JSONValue) -> Bool {
        let context = JourneyContext(event: event.contextValue, user: user)
        return definition.exitOn.contains { $0.event == event.name && ($0.condition?.holds(in: context) ?? true) }
    }

    /// When the `waitFor` a waiting run is at began (its deadline less its timeout); nil for any other step.
    public func waitingSince(_ run: JourneyRun) -> Date? {
        guard case .waitFor(_, let timeout, _) = definition.steps[run.step].action, let deadline = run.deadline else { return nil }
        return deadline.addingTimeInterval(-TimeInterval(timeout))
    }

    /// Whether the step at `index` is a `waitFor` that `event` ends.
    public func awaits(_ event: CustomerEvent, at index: Int, user: JSONValue) -> Bool {
        guard case .waitFor(.event(let name, let condition), _, _) = definition.steps[index].action, name == event.name else { return false }
        return condition?.holds(in: JourneyContext(event: event.contextValue, user: user)) ?? true
    }

    /// Whether `event` starts this journey for its customer (the entry rule aside, which needs the store).
    /// A segment trigger starts it when a profile event (`user.created`, `user.updated`) shows the
    /// customer entering the segment: their metadata matches it now and did not before (nothing before
    /// a creation).
    /// An item event about an item a journey sent starts nothing (`CustomerEvent.isAboutJourneyItem`).
    public func isTriggered(by event: CustomerEvent, user: JSONValue) -> Bool {
        guard !event.isAboutJourneyItem else { return false }
        switch definition.trigger {
        case .event(let name, let condition):
            guard name == event.name else { return false }
            return condition?.holds(in: JourneyContext(event: event.contextValue, user: user)) ?? true
        case .segment(let segment):
            guard event.name == "user.created" || event.name == "user.updated", case .object(let now)? = event.properties["metadata"] else { return false }
            var before: [String: JSONValue] = [:]
            if case .object(let previous)? = event.properties["previousMetadata"] { before = previous }
            return segment.matches(now) && !(event.name == "user.updated" && segment.matches(before))
        }
    }

    /// Whether the item state `reached` satisfies a wait for `wanted` (acted implies read implies delivered).
    public static func itemState(_ reached: JourneyDefinition.ItemState?, satisfies wanted: JourneyDefinition.ItemState) -> Bool {
        guard let reached else { return false }
        return rank(reached) >= rank(wanted)
    }

    private static func rank(_ state: JourneyDefinition.ItemState) -> Int {
        switch state {
        case .delivered: 0
        case .read: 1
        case .acted: 2
        }
    }

    /// The customer as conditions and variables see them (`user.locale`, `user.timezone`, `user.metadata.…`).
    public static func userValue(locale: String?, timezone: String?, metadata: [String: JSONValue]) -> JSONValue {
        var object: [String: JSONValue] = ["metadata": .object(metadata)]
        if let locale { object["locale"] = .string(locale) }
        if let timezone { object["timezone"] = .string(timezone) }
        return .object(object)
    }
}
