public import Foundation

/// A journey as the business declares it (`PUT /v1/journeys/{key}`, issue 21): what starts it, who
/// may enter and how often, the steps each customer goes through, and what makes them leave.
///
/// ```json
/// {"name": "Onboarding", "category": "transactional",
///  "trigger": {"event": "user.created"},
///  "entry": {"once": "ever"},
///  "exitOn": [{"event": "profile.completed"}],
///  "steps": [
///    {"id": "welcome", "send": {"template": "welcome", "variables": {"plan": "user.metadata.plan"}}},
///    {"id": "day2", "wait": {"duration": "2d"}},
///    {"id": "reminder", "send": {"template": "complete-profile"}},
///    {"id": "read", "waitFor": {"item": "reminder", "state": "read", "timeout": "5d", "onTimeout": "last-nudge"}, "next": "done"},
///    {"id": "last-nudge", "send": {"template": "complete-profile-last"}},
///    {"id": "done", "exit": {}}]}
/// ```
///
/// Steps run in the order written unless a step names where to go (`next`, a branch's `then` and
/// `else`, a wait's `onTimeout`). Every step a customer can reach is reached at most once: the steps
/// form no loop (refused when read), so a journey ends after at most as many steps as it has, and
/// exactly-once execution (issue 21's durable state) is a matter of remembering which steps ran.
public struct JourneyDefinition: Equatable, Sendable {
    public enum Trigger: Equatable, Sendable {
        /// An event of this name, when the condition holds for it.
        case event(name: String, where: JourneyCondition?)
        /// A customer entering the segment (their metadata starts to match).
        case segment(Segment)
    }

    public enum Entry: Equatable, Sendable {
        /// Once in a customer's life.
        case onceEver
        /// Again only after this long since their last entry.
        case oncePer(seconds: Int64)
        /// Each time the trigger fires, unless the customer is in the journey already.
        case always
    }

    public struct ExitRule: Equatable, Sendable {
        public let event: String
        public let condition: JourneyCondition?
    }

    /// Where a wait ends: an event of the customer's, or an item a send step of this journey made
    /// reaching a state.
    public enum WaitTarget: Equatable, Sendable {
        case event(name: String, where: JourneyCondition?)
        case item(step: String, state: ItemState)
    }

    public enum ItemState: String, CaseIterable, Sendable {
        case delivered, read, acted
    }

    public enum Action: Equatable, Sendable {
        /// Sends the template to the customer; `variables` maps each template variable to a path
        /// (`event.properties.amount`) or a literal.
        case send(template: TemplateKey, variables: [String: JourneyValue])
        /// Adds an entry (these variables, resolved now) to the customer's digest of `template`, and goes
        /// on at once: every entry added within `windowSeconds` of the digest's first is sent in one
        /// message when the window ends (`JourneyDigest`). Never in a security journey.
        case digest(template: TemplateKey, windowSeconds: Int64, variables: [String: JourneyValue])
        case wait(seconds: Int64)
        /// Waits until the hour the customer most often reads their items (`ReadHour`), in their time
        /// zone; at once when they have no reads to learn from, or when that hour is now.
        case waitUntilReadHour
        /// Waits until the target happens (then `next`), or `timeout` passes (then `onTimeout`).
        case waitFor(WaitTarget, timeoutSeconds: Int64, onTimeout: String?)
        case branch(JourneyCondition, then: String?, else: String?)
        /// Tells the customer outside the app (SMS or e-mail) that the item the send step `item` made waits
        /// in the app, with its reference and nothing else (`FallbackText`).
        case fallback(Fallback)
        case exit
    }

    /// The channels a fallback reaches the customer on, through the app's provider for each.
    public enum FallbackChannel: String, CaseIterable, Sendable, Codable {
        case sms, email
    }

    public struct Fallback: Equatable, Sendable {
        /// The send step whose item it points at.
        public let item: String
        public let message: FallbackMessage

        public var channel: FallbackChannel { message.channel }
    }

    public struct Step: Equatable, Sendable {
        public let id: String
        public let action: Action
        /// Where to go after this step; nil for the next one written (or the end, after the last).
        public let next: String?
    }

    // Constants: a declaration is checked as a whole (its steps cannot loop), so it is not changed after.
    public let name: String
    public let category: NotificationCategory
    public let trigger: Trigger
    public let entry: Entry
    public let exitOn: [ExitRule]
    public let steps: [Step]

    public static let maxSteps = 32
    public static let maxExitRules = 8
    public static let maxVariables = 20
    /// Waits and timeouts: at least a second, at most 90 days.
    public static let durations: ClosedRange<Int64> = 1...(90 * 86_400)

    /// Reads a declaration (at most `Limits.journeyBytes`); every problem is named with its path
    /// (`steps[2].branch.then`), each once.
    public init(body: Data) throws(HeraldError) {
        guard body.count <= Limits.journeyBytes else { throw .tooLarge(detail: "A journey is at most \(Limits.journeyBytes) bytes of JSON.") }
        var reader = try ObjectReader(body: body)
        name = reader.string("name", required: true, maxLength: Limits.nameCharacters, minLength: 1) ?? ""
        let categoryText = reader.string("category", required: true)
        let category = categoryText.flatMap(NotificationCategory.init(rawValue:))
        if categoryText != nil, category == nil { reader.report("category", .invalidValue, detail: NotificationCategory.choices) }
        self.category = category ?? .transactional
        var problems: [FieldProblem] = []
        let triggerValue = reader.value("trigger")
        if triggerValue == nil { reader.report("trigger", .required) }
        trigger = Self.readTrigger(triggerValue, into: &problems) ?? .event(name: "", where: nil)
        entry = Self.readEntry(reader.value("entry"), into: &problems)
        exitOn = Self.readExitRules(reader.value("exitOn"), into: &problems)
        let stepsValue = reader.value("steps")
        if stepsValue == nil { reader.report("steps", .required) }
        steps = Self.readSteps(stepsValue, into: &problems)
        for problem in problems { reader.report(problem.field, problem.reason, detail: problem.detail) }
        if self.category == .marketing {
            for (index, step) in steps.enumerated() {
                guard case .fallback = step.action else { continue }
                reader.report("steps[\(index)].fallback", .invalidValue, detail: "marketing never reaches a customer outside the app")
            }
        }
        if self.category == .security {
            for (index, step) in steps.enumerated() {
                guard case .digest = step.action else { continue }
                reader.report("steps[\(index)].digest", .invalidValue, detail: "security is never digested: send it")
            }
        }
        if reader.problems.isEmpty {
            for problem in Self.checkGraph(steps) { reader.report(problem.field, problem.reason, detail: problem.detail) }
        }
        try reader.finish()
    }

    // MARK: reading the parts

    /// An event name: 1–64 characters of `[a-z0-9._-]` starting with a letter (`item.read`, `profile.completed`).
    public static func isEventName(_ name: String) -> Bool { NameBytes.isLowercaseName(name, maxBytes: 64, punctuation: ".-_") }

    /// The names of Herald's own events a journey may name: the ones Herald records. Any other name in
    /// Herald's part of the space (`item.…`, `user.…`, `herald.…`) would never arrive, and is refused.
    public static let recordedByHerald: Set<String> = Set(["user.created", "user.updated", "user.preferences.updated"]).union(CustomerEvent.itemEventNames)

    /// Whether a journey may name `name` (a well-formed name a business can send, or one Herald records).
    static func isAwaitable(_ name: String) -> Bool {
        isEventName(name) && (!CustomerEvent.isReserved(name) || recordedByHerald.contains(name))
    }

    private static let reservedForm = "a name the business sends, or one Herald records: user.created, user.updated, user.preferences.updated, item.delivered, item.read, item.acted, item.expired"


    /// A step's id: 1–64 characters of `[a-z0-9_-]` starting with a letter.
    public static func isStepID(_ id: String) -> Bool { NameBytes.isLowercaseName(id, maxBytes: 64, punctuation: "-_") }

    /// A template variable's name: 1–64 letters, digits and `_`, starting with a letter.
    static func isVariableName(_ name: String) -> Bool { NameBytes.isName(name, maxBytes: 64) }

    private static let eventForm = "1 to 64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter"
    private static let stepIDForm = "1 to 64 characters of a-z, 0-9, '_' and '-', starting with a letter"

    private static func object(_ value: JSONValue?, field: String, into problems: inout [FieldProblem]) -> ObjectReader? {
        guard let value else { return nil }
        do {
            return try ObjectReader(value, path: field + ".")
        } catch {
            problems.append(FieldProblem(field: field, reason: .wrongType, detail: "expected an object"))
            return nil
        }
    }

    private static func finish(_ reader: inout ObjectReader, into problems: inout [FieldProblem]) {
        try? reader.finish()
        problems += reader.problems
    }

    private static func readEventMatch(_ reader: inout ObjectReader, field: String, into problems: inout [FieldProblem]) -> (String, JourneyCondition?)? {
        let name = reader.string("event", required: true)
        if let name, !isEventName(name) { reader.report("event", .invalidValue, detail: eventForm) }
        if let name, isEventName(name), !isAwaitable(name) { reader.report("event", .invalidValue, detail: reservedForm) }
        var condition: JourneyCondition?
        if let value = reader.value("where") { condition = JourneyCondition.read(value, field: field + ".where", into: &problems) }
        guard let name, isAwaitable(name) else { return nil }
        return (name, condition)
    }

    private static func readTrigger(_ value: JSONValue?, into problems: inout [FieldProblem]) -> Trigger? {
        guard var reader = object(value, field: "trigger", into: &problems) else { return nil }
        defer { finish(&reader, into: &problems) }
        if let segment = reader.value("segment") {
            for key in ["event", "where"] where reader.value(key) != nil {
                reader.report(key, .invalidValue, detail: "a trigger is an event (with a condition) or a segment, not both")
            }
            return Segment.read(segment, into: &reader, path: "trigger.segment.").map(Trigger.segment)
        }
        return readEventMatch(&reader, field: "trigger", into: &problems).map { Trigger.event(name: $0.0, where: $0.1) }
    }

    private static func readEntry(_ value: JSONValue?, into problems: inout [FieldProblem]) -> Entry {
        guard var reader = object(value, field: "entry", into: &problems) else { return .onceEver }
        defer { finish(&reader, into: &problems) }
        let hasOnce = reader.value("once") != nil
        let always = reader.bool("always")
        switch (hasOnce, always) {
        case (true, .some):
            reader.report("always", .invalidValue, detail: "an entry rule is once or always, not both")
            return .onceEver
        case (false, true?):
            return .always
        case (false, _):
            reader.report("once", .required, detail: "\"ever\", or a window such as \"7d\"; or \"always\": true")
            return .onceEver
        case (true, nil):
            guard let text = reader.string("once") else { return .onceEver }  // not a string: reported
            if text == "ever" { return .onceEver }
            guard let seconds = parseDuration(text) else {
                reader.report("once", .invalidValue, detail: "\"ever\", or a window from 1s to 90d such as \"7d\"")
                return .onceEver
            }
            return .oncePer(seconds: seconds)
        }
    }

    private static func readExitRules(_ value: JSONValue?, into problems: inout [FieldProblem]) -> [ExitRule] {
        guard let value else { return [] }
        guard case .array(let items) = value else {
            problems.append(FieldProblem(field: "exitOn", reason: .wrongType, detail: "expected an array"))
            return []
        }
        guard items.count <= maxExitRules else {
            problems.append(FieldProblem(field: "exitOn", reason: .tooMany, detail: "at most \(maxExitRules) rules"))
            return []
        }
        return items.enumerated().compactMap { index, item in
            let field = "exitOn[\(index)]"
            guard var reader = object(item, field: field, into: &problems) else { return nil }
            defer { finish(&reader, into: &problems) }
            return readEventMatch(&reader, field: field, into: &problems).map { ExitRule(event: $0.0, condition: $0.1) }
        }
    }

    private static func readSteps(_ value: JSONValue?, into problems: inout [FieldProblem]) -> [Step] {
        guard let value else { return [] }
        guard case .array(let items) = value else {
            problems.append(FieldProblem(field: "steps", reason: .wrongType, detail: "expected an array"))
            return []
        }
        guard (1...maxSteps).contains(items.count) else {
            problems.append(FieldProblem(field: "steps", reason: items.isEmpty ? .tooShort : .tooMany, detail: "1 to \(maxSteps) steps"))
            return []
        }
        return items.enumerated().compactMap { index, item in readStep(item, field: "steps[\(index)]", into: &problems) }
    }

    private static let actions = ["send", "digest", "wait", "waitFor", "branch", "fallback", "exit"]

    private static func readStep(_ value: JSONValue, field: String, into problems: inout [FieldProblem]) -> Step? {
        guard var reader = object(value, field: field, into: &problems) else { return nil }
        defer { finish(&reader, into: &problems) }
        let id = reader.string("id", required: true)
        if let id, !isStepID(id) { reader.report("id", .invalidValue, detail: stepIDForm) }
        let next = reader.string("next")
        if let next, !isStepID(next) { reader.report("next", .invalidValue, detail: stepIDForm) }
        let present = actions.filter { reader.value($0) != nil }
        guard present.count == 1, let kind = present.first else {
            reader.report(present.isEmpty ? "send" : present[1], present.isEmpty ? .required : .invalidValue, detail: "a step does one of: " + actions.joined(separator: ", "))
            return nil
        }
        var action: Action?
        if var part = object(reader.value(kind), field: field + "." + kind, into: &problems) {
            action = readAction(kind, &part)
            finish(&part, into: &problems)
        }
        guard let id, isStepID(id), let action, next.map(isStepID) ?? true else { return nil }
        switch action {
        case .exit where next != nil:
            reader.report("next", .invalidValue, detail: "an exit step ends the journey")
            return nil
        case .branch where next != nil:
            reader.report("next", .invalidValue, detail: "a branch goes to then or else (one left out goes to the step written after)")
            return nil
        default:
            return Step(id: id, action: action, next: next)
        }
    }

    /// How long a digest collects: at least a minute (one message for a burst), at most a week.
    public static let digestWindow: ClosedRange<Int64> = 60...(7 * 86_400)

    private static func readTemplate(_ reader: inout ObjectReader) -> TemplateKey? {
        let template = reader.string("template", required: true)
        let key = template.flatMap(TemplateKey.init(rawValue:))
        if template != nil, key == nil { reader.report("template", .invalidIdentifier) }
        return key
    }

    private static func readVariables(_ reader: inout ObjectReader) -> [String: JourneyValue] {
        var variables: [String: JourneyValue] = [:]
        if let object = reader.object("variables", maxBytes: 4 * 1024) {
            if object.count > maxVariables { reader.report("variables", .tooMany, detail: "at most \(maxVariables)") }
            for (name, value) in object.sorted(by: { $0.key < $1.key }) {
                guard isVariableName(name) else {
                    reader.report("variables.\(name)", .invalidValue, detail: "a variable's name: 1 to 64 letters, digits and _, starting with a letter")
                    continue
                }
                guard let parsed = JourneyValue(value) else {
                    reader.report("variables.\(name)", .invalidValue, detail: "a path such as event.properties.amount, or a string, number or boolean")
                    continue
                }
                variables[name] = parsed
            }
        }
        return variables
    }

    private static func readAction(_ kind: String, _ reader: inout ObjectReader) -> Action? {
        switch kind {
        case "send":
            let key = readTemplate(&reader)
            let variables = readVariables(&reader)
            return key.map { .send(template: $0, variables: variables) }
        case "digest":
            let key = readTemplate(&reader)
            let window = readDuration(&reader, "window", required: true)
            if let window, !digestWindow.contains(window) { reader.report("window", .invalidValue, detail: "from 1m to 7d") }
            let variables = readVariables(&reader)
            guard let key, let window, digestWindow.contains(window) else { return nil }
            return .digest(template: key, windowSeconds: window, variables: variables)
        case "wait":
            if let until = reader.string("until") {
                guard until == "read-hour" else {
                    reader.report("until", .invalidValue, detail: "read-hour: the hour the customer most often reads")
                    return nil
                }
                if reader.value("duration") != nil { reader.report("duration", .invalidValue, detail: "a wait has a duration or an until, not both") }
                return .waitUntilReadHour
            }
            return readDuration(&reader, "duration", required: true).map(Action.wait)
        case "waitFor":
            let timeout = readDuration(&reader, "timeout", required: true)
            let onTimeout = reader.string("onTimeout")
            if let onTimeout, !isStepID(onTimeout) { reader.report("onTimeout", .invalidValue, detail: stepIDForm) }
            var target: WaitTarget?
            switch (reader.value("event") != nil, reader.value("item") != nil) {
            case (true, true):
                reader.report("item", .invalidValue, detail: "a wait is for an event or an item, not both")
                _ = reader.value("state")
                _ = reader.value("where")
            case (true, false):
                let event = reader.string("event")
                if let event, !isEventName(event) { reader.report("event", .invalidValue, detail: eventForm) }
                if let event, isEventName(event), !isAwaitable(event) { reader.report("event", .invalidValue, detail: reservedForm) }
                var condition: JourneyCondition?
                if let value = reader.value("where") {
                    var found: [FieldProblem] = []
                    condition = JourneyCondition.read(value, field: "where", into: &found)
                    for problem in found { reader.report(problem.field, problem.reason, detail: problem.detail) }
                }
                if let event, isAwaitable(event) { target = .event(name: event, where: condition) }
            case (false, true):
                let step = reader.string("item")
                let state = reader.string("state", required: true)
                let parsed = state.flatMap(ItemState.init(rawValue:))
                if state != nil, parsed == nil { reader.report("state", .invalidValue, detail: "delivered, read or acted") }
                if let step, !isStepID(step) { reader.report("item", .invalidValue, detail: "the id of a send step of this journey") }
                if let step, isStepID(step), let parsed { target = .item(step: step, state: parsed) }
            case (false, false):
                reader.report("event", .required, detail: "an event name, or an item (a send step's id) with a state")
            }
            guard let target, let timeout, onTimeout.map(isStepID) ?? true else { return nil }
            return .waitFor(target, timeoutSeconds: timeout, onTimeout: onTimeout)
        case "fallback":
            let item = reader.string("item", required: true)
            if let item, !isStepID(item) { reader.report("item", .invalidValue, detail: "the id of a send step of this journey") }
            let message = FallbackMessage.read(&reader)
            guard let item, isStepID(item), let message else { return nil }
            return .fallback(Fallback(item: item, message: message))
        case "branch":
            var condition: JourneyCondition?
            if let value = reader.value("if") {
                var found: [FieldProblem] = []
                condition = JourneyCondition.read(value, field: "if", into: &found)
                for problem in found { reader.report(problem.field, problem.reason, detail: problem.detail) }
            } else {
                reader.report("if", .required)
            }
            let then = reader.string("then")
            let otherwise = reader.string("else")
            for (key, target) in [("then", then), ("else", otherwise)] where target.map(isStepID) == false {
                reader.report(key, .invalidValue, detail: stepIDForm)
            }
            if then == nil, otherwise == nil {
                reader.report("then", .required, detail: "a branch names where to go: then, else or both")
            }
            guard let condition, then != nil || otherwise != nil, then.map(isStepID) ?? true, otherwise.map(isStepID) ?? true else { return nil }
            return .branch(condition, then: then, else: otherwise)
        default:
            return .exit
        }
    }

    private static func readDuration(_ reader: inout ObjectReader, _ key: String, required: Bool) -> Int64? {
        guard let text = reader.string(key, required: required) else { return nil }
        guard let seconds = parseDuration(text) else {
            reader.report(key, .invalidValue, detail: "a duration from 1s to 90d: a whole number and s, m, h or d (\"10m\", \"2d\")")
            return nil
        }
        return seconds
    }

    /// `"30s"`, `"10m"`, `"2h"`, `"7d"`: a whole number of at most 7 digits and a unit, within `durations`.
    public static func parseDuration(_ text: String) -> Int64? {
        guard let unit = text.last, (2...8).contains(text.utf8.count), let number = Int64(text.dropLast()), number > 0,
            !text.hasPrefix("+"), !text.hasPrefix("0")
        else { return nil }
        let scale: Int64
        switch unit {
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3_600
        case "d": scale = 86_400
        default: return nil
        }
        let (seconds, overflow) = number.multipliedReportingOverflow(by: scale)
        return !overflow && durations.contains(seconds) ? seconds : nil
    }

    // MARK: the steps as a graph

    /// Where a step can go next: its targets, or the step written after it.
    public func successors(of index: Int) -> [Int] {
        Self.successors(of: index, in: steps, positions: Self.positions(steps))
    }

    private static func positions(_ steps: [Step]) -> [String: Int] {
        Dictionary(steps.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    private static func successors(of index: Int, in steps: [Step], positions: [String: Int]) -> [Int] {
        let step = steps[index]
        let following = index + 1 < steps.count ? index + 1 : nil
        let next = step.next.flatMap { positions[$0] } ?? following
        switch step.action {
        case .exit: return []
        case .branch(_, let then, let otherwise):
            return [then.flatMap { positions[$0] } ?? next, otherwise.flatMap { positions[$0] } ?? next].compactMap { $0 }
        case .waitFor(_, _, let onTimeout):
            return [next, onTimeout.flatMap { positions[$0] } ?? next].compactMap { $0 }
        case .send, .digest, .wait, .waitUntilReadHour, .fallback:
            return [next].compactMap { $0 }
        }
    }

    /// Ids unique; every target names a step; every step reachable from the first; no loop; a wait for
    /// an item names a send step that every path to the wait goes through (so the item exists).
    private static func checkGraph(_ steps: [Step]) -> [FieldProblem] {
        var problems: [FieldProblem] = []
        var positions: [String: Int] = [:]
        for (index, step) in steps.enumerated() {
            if positions[step.id] != nil {
                problems.append(FieldProblem(field: "steps[\(index)].id", reason: .duplicate))
            } else {
                positions[step.id] = index
            }
        }
        for (index, step) in steps.enumerated() {
            var targets: [(String, String?)] = [("next", step.next)]
            switch step.action {
            case .branch(_, let then, let otherwise): targets += [("branch.then", then), ("branch.else", otherwise)]
            case .waitFor(_, _, let onTimeout): targets.append(("waitFor.onTimeout", onTimeout))
            default: break
            }
            for case (let key, let target?) in targets where positions[target] == nil {
                problems.append(FieldProblem(field: "steps[\(index)].\(key)", reason: .invalidValue, detail: "no step has the id \(target)"))
            }
        }
        guard problems.isEmpty else { return problems }
        let successors = steps.indices.map { Self.successors(of: $0, in: steps, positions: positions) }

        // Depth-first from the first step, iteratively: a step met again on the current path is a loop.
        var state = [UInt8](repeating: 0, count: steps.count)  // 0 unseen, 1 on the path, 2 done
        var order: [Int] = []  // reverse topological order (a step after every step it leads to)
        var stack: [(index: Int, next: [Int])] = [(0, successors[0])]
        state[0] = 1
        while !stack.isEmpty {
            guard let next = stack[stack.count - 1].next.popLast() else {
                let done = stack.removeLast().index
                state[done] = 2
                order.append(done)
                continue
            }
            switch state[next] {
            case 1: return [FieldProblem(field: "steps[\(next)]", reason: .invalidValue, detail: "the steps loop back to \(steps[next].id): a journey must end")]
            case 0:
                state[next] = 1
                stack.append((next, successors[next]))
            default: continue
            }
        }
        for index in steps.indices where state[index] == 0 {
            problems.append(FieldProblem(field: "steps[\(index)]", reason: .invalidValue, detail: "no path from the first step reaches \(steps[index].id)"))
        }
        guard problems.isEmpty else { return problems }

        // Dominators (at most 32 steps: one bit each), in topological order: the steps every path from
        // the first step to this one goes through, itself included.
        var dominators = [UInt64](repeating: ~0, count: steps.count)
        dominators[0] = 1
        // Each step's set is final once its predecessors passed theirs on: ∩(dominators[p] ∪ {step}).
        for index in order.reversed() {
            for next in successors[index] { dominators[next] &= dominators[index] | (1 << UInt64(next)) }
        }
        for (index, step) in steps.enumerated() {
            let sender: String, field: String
            switch step.action {
            case .waitFor(.item(let step, _), _, _): (sender, field) = (step, "waitFor.item")
            case .fallback(let fallback): (sender, field) = (fallback.item, "fallback.item")
            default: continue
            }
            let isDominatingSend = positions[sender].map { position in
                steps[position].action.isSend && position != index && dominators[index] & (1 << UInt64(position)) != 0
            } ?? false
            if !isDominatingSend {
                problems.append(FieldProblem(field: "steps[\(index)].\(field)", reason: .invalidValue, detail: "a send step that every path to this step goes through"))
            }
        }
        return problems
    }
}

extension JourneyDefinition.Action {
    public var isSend: Bool {
        if case .send = self { return true }
        return false
    }
}

/// A value a journey passes to a template: a path into the event or the customer, or a literal.
public enum JourneyValue: Equatable, Sendable {
    case path(JourneyPath)
    case literal(JSONValue)

    /// A string that reads as a path (`event.…`, `user.…`) is one; other strings, numbers and booleans
    /// are literals (as in conditions: `JourneyCondition.isLiteral`).
    init?(_ value: JSONValue) {
        if case .string(let text) = value, text.hasPrefix("event.") || text.hasPrefix("user.") {
            guard let path = JourneyPath(text) else { return nil }
            self = .path(path)
        } else {
            guard JourneyCondition.isLiteral(value) else { return nil }
            self = .literal(value)
        }
    }

    /// The value for `context`: nil when the path names nothing.
    public func value(in context: JourneyContext) -> JSONValue? {
        switch self {
        case .path(let path): context.value(at: path)
        case .literal(let value): value
        }
    }
}
