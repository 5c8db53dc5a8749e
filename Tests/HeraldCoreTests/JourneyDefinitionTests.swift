import Foundation
import HeraldCore
import PropertyBased
import Testing

/// Journey declarations (issue 21): read with every problem named at its path, and refused when their
/// steps could loop, point nowhere, or wait for something the journey never sends.
@Suite("Journey declarations")
struct JourneyDefinitionTests {
    static let onboarding = #"""
        {"name": "Onboarding", "category": "transactional",
         "trigger": {"event": "user.created"},
         "entry": {"once": "ever"},
         "exitOn": [{"event": "profile.completed"}],
         "steps": [
           {"id": "welcome", "send": {"template": "welcome", "variables": {"plan": "user.metadata.plan", "bank": "Acme"}}},
           {"id": "day2", "wait": {"duration": "2d"}},
           {"id": "reminder", "send": {"template": "complete-profile"}},
           {"id": "read", "waitFor": {"item": "reminder", "state": "read", "timeout": "5d", "onTimeout": "last-nudge"}, "next": "done"},
           {"id": "last-nudge", "send": {"template": "complete-profile-last"}},
           {"id": "done", "exit": {}}]}
        """#

    private func problems(_ json: String) -> [FieldProblem] {
        do {
            _ = try JourneyDefinition(body: Data(json.utf8))
            Issue.record("accepted: \(json)")
            return []
        } catch {
            guard case .invalid(let problems) = error else {
                Issue.record("not invalid: \(error)")
                return []
            }
            return problems
        }
    }

    /// The onboarding journey with its steps replaced.
    private func steps(_ steps: String) -> String {
        #"{"name": "J", "category": "transactional", "trigger": {"event": "user.created"}, "steps": [\#(steps)]}"#
    }

    @Test("The documented onboarding journey reads as written, and its steps go where they say")
    func onboardingReads() throws {
        let journey = try JourneyDefinition(body: Data(Self.onboarding.utf8))
        #expect(journey.trigger == .event(name: "user.created", where: nil))
        #expect(journey.entry == .onceEver && journey.exitOn.map(\.event) == ["profile.completed"])
        #expect(journey.steps.map(\.id) == ["welcome", "day2", "reminder", "read", "last-nudge", "done"])
        #expect(journey.steps[0].action == .send(template: TemplateKey(rawValue: "welcome")!, variables: [
            "plan": .path(JourneyPath("user.metadata.plan")!), "bank": .literal(.string("Acme")),
        ]))
        #expect(journey.steps[1].action == .wait(seconds: 2 * 86_400))
        #expect(journey.successors(of: 0) == [1])
        #expect(journey.successors(of: 3).sorted() == [4, 5], "read → done, timeout → last-nudge")
        #expect(journey.successors(of: 4) == [5] && journey.successors(of: 5).isEmpty)
    }

    @Test("Triggers, entry rules and exit rules: events with conditions, segments, windows")
    func triggersAndEntry() throws {
        let offer = try JourneyDefinition(body: Data(#"""
            {"name": "Monitoring offer", "category": "marketing",
             "trigger": {"event": "fraud.alert.answered", "where": {"eq": ["event.properties.decision", "declined"]}},
             "entry": {"once": "30d"}, "steps": [{"id": "offer", "send": {"template": "monitoring-offer"}}]}
            """#.utf8))
        #expect(offer.entry == .oncePer(seconds: 30 * 86_400))
        guard case .event("fraud.alert.answered", let condition?) = offer.trigger else { Issue.record("trigger \(offer.trigger)"); return }
        #expect(condition == .compare(JourneyPath("event.properties.decision")!, .eq, .string("declined")))
        let segment = try JourneyDefinition(body: Data(#"{"name": "S", "category": "transactional", "trigger": {"segment": {"metadata": {"tier": "gold"}}}, "entry": {"always": true}, "steps": [{"id": "a", "exit": {}}]}"#.utf8))
        #expect(segment.trigger == .segment(Segment(metadata: ["tier": .string("gold")])) && segment.entry == .always)
    }

    @Test("Every problem is named at its path, all at once, each once")
    func problemsNamed() {
        let found = problems(#"""
            {"name": "", "category": "sms", "trigger": {"event": "User Created", "where": {"regex": 1}}, "entry": {"once": 5},
             "exitOn": [{"event": "ok"}, {"evnt": "x"}],
             "steps": [{"id": "A", "send": {"template": "Bad Key", "variables": {"x": "event.nothing", "y": {"a": 1}, "1z": "a"}}},
                       {"id": "w", "wait": {"duration": "91d"}},
                       {"id": "b", "branch": {"then": "w"}},
                       {"id": "c", "branch": {"if": {"exists": "event.name"}}},
                       {"id": "d", "waitFor": {"event": 5, "timeout": "1h"}},
                       {"id": "two", "send": {"template": "t"}, "exit": {}}]}
            """#)
        let expected: [(String, FieldProblem.Reason)] = [
            ("category", .invalidValue), ("entry.once", .wrongType), ("exitOn[1].event", .required), ("exitOn[1].evnt", .unknownField),
            ("name", .required), ("steps[0].id", .invalidValue), ("steps[0].send.template", .invalidIdentifier),
            ("steps[0].send.variables.1z", .invalidValue), ("steps[0].send.variables.x", .invalidValue), ("steps[0].send.variables.y", .invalidValue),
            ("steps[1].wait.duration", .invalidValue), ("steps[2].branch.if", .required), ("steps[3].branch.then", .required),
            ("steps[4].waitFor.event", .wrongType), ("steps[5].exit", .invalidValue), ("trigger.event", .invalidValue),
            ("trigger.where.regex", .unknownField),
        ]
        #expect(found.map { "\($0.field) \($0.reason.rawValue)" }.sorted() == expected.map { "\($0.0) \($0.1.rawValue)" }.sorted())
    }

    @Test("A segment trigger names its own problems under trigger.segment; an event and a segment together are refused")
    func segmentTriggerProblems() {
        #expect(problems(#"{"name": "S", "category": "transactional", "trigger": {"segment": {"metadata": {"tier": [1]}}}, "steps": [{"id": "a", "exit": {}}]}"#)
            .map(\.field) == ["trigger.segment.metadata.tier"])
        #expect(problems(#"{"name": "S", "category": "transactional", "trigger": {"segment": {"metadata": {"t": 1}}, "where": {"exists": "event.name"}}, "steps": [{"id": "a", "exit": {}}]}"#)
            .map(\.field) == ["trigger.where"])
        #expect(problems(#"{"name": "S", "category": "transactional", "trigger": {"event": "e"}, "entry": {"once": "ever", "always": true}, "steps": [{"id": "a", "exit": {}}]}"#)
            .map(\.field) == ["entry.always"])
    }

    @Test("Steps that loop, point nowhere, repeat an id, cannot be reached, or wait for an item not surely sent are refused")
    func graphRules() {
        #expect(problems(steps(#"{"id": "a", "send": {"template": "t"}}, {"id": "b", "wait": {"duration": "1d"}, "next": "a"}"#))
            .map(\.detail) == ["the steps loop back to a: a journey must end"])
        #expect(problems(steps(#"{"id": "a", "branch": {"if": {"exists": "event.name"}, "then": "a"}}, {"id": "b", "exit": {}}"#)).map(\.field) == ["steps[0]"])
        #expect(problems(steps(#"{"id": "a", "send": {"template": "t"}, "next": "nowhere"}"#)).map(\.field) == ["steps[0].next"])
        #expect(problems(steps(#"{"id": "a", "exit": {}}, {"id": "a", "exit": {}}"#)).map(\.reason) == [.duplicate])
        #expect(problems(steps(#"{"id": "a", "exit": {}, "next": "b"}, {"id": "b", "exit": {}}"#)).map(\.field) == ["steps[0].next"])
        #expect(problems(steps(#"{"id": "a", "branch": {"if": {"exists": "event.name"}, "then": "b", "else": "c"}, "next": "c"}, {"id": "b", "exit": {}}, {"id": "c", "exit": {}}"#))
            .map(\.field) == ["steps[0].next"], "a branch says where to go with then and else")
        // A loop among steps no path reaches, and the unreachable steps themselves.
        #expect(problems(steps(#"{"id": "a", "exit": {}}, {"id": "b", "wait": {"duration": "1h"}, "next": "c"}, {"id": "c", "wait": {"duration": "1h"}, "next": "b"}"#))
            .map(\.field) == ["steps[1]", "steps[2]"])
        // The wait's item: written later but sent first is fine; sent on one path only is not.
        #expect(throws: Never.self) {
            _ = try JourneyDefinition(body: Data(steps(#"{"id": "a", "wait": {"duration": "1h"}, "next": "s"}, {"id": "w", "waitFor": {"item": "s", "state": "read", "timeout": "1h"}, "next": "z"}, {"id": "s", "send": {"template": "t"}, "next": "w"}, {"id": "z", "exit": {}}"#).utf8))
        }
        #expect(problems(steps(#"{"id": "a", "branch": {"if": {"exists": "event.name"}, "then": "w"}}, {"id": "s", "send": {"template": "t"}}, {"id": "w", "waitFor": {"item": "s", "state": "read", "timeout": "1h"}}"#))
            .map(\.field) == ["steps[2].waitFor.item"])
        #expect(problems(steps(#"{"id": "w", "waitFor": {"item": "w", "state": "read", "timeout": "1h"}}"#)).map(\.field) == ["steps[0].waitFor.item"])
        // A branch that meets again further on is no loop.
        #expect(throws: Never.self) {
            _ = try JourneyDefinition(body: Data(steps(#"{"id": "a", "branch": {"if": {"exists": "event.name"}, "then": "c", "else": "b"}}, {"id": "b", "send": {"template": "t"}}, {"id": "c", "exit": {}}"#).utf8))
        }
    }

    @Test("Digest steps: a template, a window from 1m to 7d, variables as a send's; never in security; no item to wait for or fall back on")
    func digestSteps() throws {
        let journey = try JourneyDefinition(body: Data(steps(#"{"id": "d", "digest": {"template": "offers", "window": "1d", "variables": {"offer": "event.properties.name"}}}"#).utf8))
        guard case .digest(let template, let window, let variables)? = journey.steps.first?.action else {
            Issue.record("not a digest: \(journey.steps)")
            return
        }
        #expect(template.rawValue == "offers" && window == 86_400 && Array(variables.keys) == ["offer"])
        #expect(problems(steps(#"{"id": "d", "digest": {"template": "offers", "window": "59s"}}"#)).map(\.field) == ["steps[0].digest.window"])
        #expect(problems(steps(#"{"id": "d", "digest": {"template": "offers", "window": "8d"}}"#)).map(\.field) == ["steps[0].digest.window"])
        #expect(problems(steps(#"{"id": "d", "digest": {"template": "offers"}}"#)).map(\.field) == ["steps[0].digest.window"])
        #expect(problems(steps(#"{"id": "d", "digest": {"window": "1h", "variables": {"9x": 1}}}"#)).map(\.field).sorted() == ["steps[0].digest.template", "steps[0].digest.variables.9x"])
        let security = #"{"name": "J", "category": "security", "trigger": {"event": "x"}, "steps": [{"id": "d", "digest": {"template": "t", "window": "1h"}}]}"#
        #expect(problems(security).map(\.field) == ["steps[0].digest"])
        // A digest makes no item now: nothing waits for it or falls back on it.
        #expect(problems(steps(#"{"id": "d", "digest": {"template": "t", "window": "1h"}}, {"id": "w", "waitFor": {"item": "d", "state": "read", "timeout": "1h"}}"#))
            .map(\.field) == ["steps[1].waitFor.item"])
    }

    @Test("Durations: whole numbers with s, m, h or d, from 1 second to 90 days; nothing else, and nothing traps")
    func durations() async {
        #expect(JourneyDefinition.parseDuration("10m") == 600 && JourneyDefinition.parseDuration("90d") == 90 * 86_400)
        for refused in ["0s", "91d", "1w", "-1d", "+1d", "01d", "1.5h", "d", "", "9223372036854775807d", "1 d", "１d"] {
            #expect(JourneyDefinition.parseDuration(refused) == nil, "\(refused)")
        }
        await propertyCheck(count: 2_000, input: Gen.uint64()) { seed in
            var random = Xoshiro(seed: seed)
            let digits = String(random.next() % 100_000_000_000)
            let text = digits + ["s", "m", "h", "d", "", "x"][Int(random.next() % 6)]
            if let seconds = JourneyDefinition.parseDuration(text) { #expect(JourneyDefinition.durations.contains(seconds), "\(text)") }
        }
    }

    /// A random step list of `count` steps whose targets name random steps: sometimes a loop, sometimes
    /// unreachable steps, sometimes neither.
    private static func randomSteps(count: Int, using random: inout Xoshiro) -> String {
        (0..<count).map { index in
            let target = { (random: inout Xoshiro) in "s\(random.next() % UInt64(count))" }
            let next = random.next() % 3 == 0 ? #", "next": "\#(target(&random))""# : ""
            switch random.next() % 5 {
            case 0: return #"{"id": "s\#(index)", "send": {"template": "t"}\#(next)}"#
            case 1:
                let targets = random.next() % 2 == 0 ? #""then": "\#(target(&random))""# : #""then": "\#(target(&random))", "else": "\#(target(&random))""#
                return #"{"id": "s\#(index)", "branch": {"if": {"exists": "event.name"}, \#(targets)}}"#
            case 2:
                let onTimeout = random.next() % 2 == 0 ? #", "onTimeout": "\#(target(&random))""# : ""
                // An item of an earlier step, mostly: the ones a journey can wait for.
                let earlier = index > 0 && random.next() % 4 != 0 ? "s\(random.next() % UInt64(index))" : target(&random)
                let what = random.next() % 2 == 0 ? #""event": "e""# : #""item": "\#(earlier)", "state": "read""#
                return #"{"id": "s\#(index)", "waitFor": {\#(what), "timeout": "1h"\#(onTimeout)}\#(next)}"#
            case 3: return #"{"id": "s\#(index)", "exit": {}}"#
            default: return #"{"id": "s\#(index)", "wait": {"duration": "1h"}\#(next)}"#
            }
        }.joined(separator: ",")
    }

    /// The rule, checked independently of the reader: every step reachable from the first, and no path
    /// from the first step longer than the number of steps (a longer one repeats a step: a loop).
    private static func isWellFormed(_ edges: [[Int]]) -> Bool {
        var reached: Set<Int> = [0]
        var frontier = [0]
        var length = 1
        while !frontier.isEmpty {
            guard length <= edges.count else { return false }
            frontier = frontier.flatMap { edges[$0] }
            reached.formUnion(frontier)
            length += 1
        }
        return reached.count == edges.count
    }

    /// Whether every path from the first step to `wait` goes through `sender`: with `sender` taken out,
    /// `wait` cannot be reached (the first step always lies on every path).
    private static func isOnEveryPath(_ sender: Int, to wait: Int, _ edges: [[Int]]) -> Bool {
        guard sender != 0 else { return true }
        var reached: Set<Int> = [0]
        var frontier = [0]
        while let step = frontier.popLast() {
            for next in edges[step] where next != sender && reached.insert(next).inserted { frontier.append(next) }
        }
        return !reached.contains(wait)
    }

    @Test("Generated step graphs: accepted exactly when every step is reachable, none loops, and each item waited for is sent on every path to its wait")
    func generatedGraphs() {
        var accepted = 0
        var acceptedWithItemWaits = 0
        for seed in UInt64(0)..<10_000 {
            // Spread over the seed space: neighbouring seeds start Xoshiro on nearly the same numbers.
            var random = Xoshiro(seed: seed &* 0x9E37_79B9_7F4A_7C15)
            let count = 1 + Int(random.next() % 8)
            let body = steps(Self.randomSteps(count: count, using: &random))
            // The edges as the documentation states them, read from the JSON itself.
            guard case .object(let root)? = try? JSONValue.parse(text: body), case .array(let list)? = root["steps"] else { Issue.record("seed \(seed)"); return }
            let edges: [[Int]] = list.enumerated().map { index, item in
                guard case .object(let step) = item else { return [] }
                func position(_ value: JSONValue?) -> Int? { if case .string(let id)? = value { Int(id.dropFirst()) } else { nil } }
                let following = index + 1 < count ? index + 1 : nil
                let next = position(step["next"]) ?? following
                if step["exit"] != nil { return [] }
                if case .object(let branch)? = step["branch"] { return [position(branch["then"]) ?? next, position(branch["else"]) ?? next].compactMap { $0 } }
                if case .object(let wait)? = step["waitFor"] { return [next, position(wait["onTimeout"]) ?? next].compactMap { $0 } }
                return [next].compactMap { $0 }
            }
            // Each wait for an item: the send step it names, on every path to it.
            let itemWaits: [(wait: Int, sender: Int, isSend: Bool)] = list.enumerated().compactMap { index, item in
                guard case .object(let step) = item, case .object(let wait)? = step["waitFor"], case .string(let id)? = wait["item"],
                    let sender = Int(id.dropFirst()), case .object(let named) = list[sender]
                else { return nil }
                return (index, sender, named["send"] != nil)
            }
            let wellFormed = Self.isWellFormed(edges)
                && itemWaits.allSatisfy { $0.isSend && $0.sender != $0.wait && Self.isOnEveryPath($0.sender, to: $0.wait, edges) }
            let journey = try? JourneyDefinition(body: Data(body.utf8))
            #expect((journey != nil) == wellFormed, "seed \(seed): \(body)")
            if journey != nil, !itemWaits.isEmpty { acceptedWithItemWaits += 1 }
            if let journey {
                accepted += 1
                #expect(journey.steps.indices.map { journey.successors(of: $0).sorted() } == edges.map { $0.sorted() }, "seed \(seed)")
            }
        }
        #expect(accepted > 1_000, "the generator reaches accepted journeys (\(accepted) of 10,000)")
        #expect(acceptedWithItemWaits > 20, "and accepted ones that wait for an item (\(acceptedWithItemWaits))")
    }

    @Test("Herald's own event names are refused unless Herald records them: user.created and item events may start, end and end waits; item.opened may not")
    func reservedNames() throws {
        func read(_ trigger: String, wait: String) -> [String] {
            let body = """
                {"name":"x","category":"security","trigger":{"event":"\(trigger)"},"exitOn":[{"event":"\(wait)"}],
                 "steps":[{"id":"w","waitFor":{"event":"\(wait)","timeout":"1h"}}]}
                """
            do {
                _ = try JourneyDefinition(body: Data(body.utf8))
                return []
            } catch {
                guard case .invalid(let problems) = error else { return ["\(error)"] }
                return problems.map(\.field)
            }
        }
        #expect(read("user.created", wait: "profile.completed") == [])
        #expect(read("item.expired", wait: "item.acted") == [])
        #expect(read("user.preferences.updated", wait: "user.updated") == [])
        #expect(read("item.opened", wait: "profile.completed") == ["trigger.event"])
        #expect(read("signup", wait: "item.archived") == ["exitOn[0].event", "steps[0].waitFor.event"])
        #expect(read("herald.x", wait: "user.deleted") == ["trigger.event", "exitOn[0].event", "steps[0].waitFor.event"])
    }
}
