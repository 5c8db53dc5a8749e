import Foundation
import HeraldCore
import PropertyBased
import Testing

/// Journey conditions (issue 21): what a bank's staff write, read with every problem named, within a
/// budget, and evaluated without surprises on whatever an event or a profile holds.
@Suite("Journey conditions")
struct JourneyConditionTests {
    private func condition(_ json: String) throws -> JourneyCondition {
        var problems: [FieldProblem] = []
        let condition = JourneyCondition.read(try JSONValue.parse(text: json), field: "where", into: &problems)
        guard let condition else { throw HeraldError.invalid(problems) }
        return condition
    }

    private func problems(_ json: String) throws -> [FieldProblem] {
        var problems: [FieldProblem] = []
        #expect(JourneyCondition.read(try JSONValue.parse(text: json), field: "where", into: &problems) == nil)
        return problems
    }

    private func context(event properties: [String: JSONValue] = [:], metadata: [String: JSONValue] = [:], locale: String? = nil) -> JourneyContext {
        var user: [String: JSONValue] = ["metadata": .object(metadata)]
        if let locale { user["locale"] = .string(locale) }
        return JourneyContext(event: .object(["name": .string("fraud.alert.declined"), "properties": .object(properties)]), user: .object(user))
    }

    @Test("The documented example: declined, and not monitored yet")
    func documentedExample() throws {
        let offer = try condition(#"{"all": [{"eq": ["event.properties.decision", "declined"]}, {"not": {"exists": "user.metadata.monitoring"}}]}"#)
        #expect(offer.holds(in: context(event: ["decision": .string("declined")])))
        #expect(!offer.holds(in: context(event: ["decision": .string("approved")])))
        #expect(!offer.holds(in: context(event: ["decision": .string("declined")], metadata: ["monitoring": .bool(true)])))
        #expect(offer.holds(in: context(event: ["decision": .string("declined")], metadata: ["monitoring": .null])), "null is absent")
    }

    @Test("Comparisons: numbers as numbers, strings by bytes, other types and missing values never match")
    func comparisons() throws {
        let large = try condition(#"{"gt": ["event.properties.amount", 100]}"#)
        #expect(large.holds(in: context(event: ["amount": .number(100.5)])))
        #expect(!large.holds(in: context(event: ["amount": .number(100)])))
        #expect(!large.holds(in: context(event: ["amount": .string("1000")])), "a string is not a number")
        #expect(!large.holds(in: context()), "missing")
        let notGold = try condition(#"{"ne": ["user.metadata.plan", "gold"]}"#)
        #expect(notGold.holds(in: context(metadata: ["plan": .string("basic")])))
        #expect(!notGold.holds(in: context()), "ne is false on a missing value too")
        #expect(try condition(#"{"not": {"eq": ["user.metadata.plan", "gold"]}}"#).holds(in: context()), "not(eq) is true on it")
        let later = try condition(#"{"ge": ["event.properties.at", "2026-12-07T10:00:00.000Z"]}"#)
        #expect(later.holds(in: context(event: ["at": .string("2026-12-07T10:00:00.001Z")])))
        #expect(!later.holds(in: context(event: ["at": .string("2026-12-06T23:59:59.999Z")])))
        #expect(try condition(#"{"lt": ["user.locale", "é"]}"#).holds(in: context(locale: "z")), "by UTF-8 bytes, not by locale")
        #expect(!(try condition(#"{"eq": ["user.locale", "\u00e9"]}"#)).holds(in: context(locale: "e\u{301}")), "by bytes, not canonical equivalence")
        #expect(try condition(#"{"ne": ["user.locale", "\u00e9"]}"#).holds(in: context(locale: "e\u{301}")))
        #expect(!(try condition(#"{"lt": ["event.properties.flag", true]}"#)).holds(in: context(event: ["flag": .bool(false)])), "booleans do not order")
        let country = try condition(#"{"in": ["event.properties.country", ["DE", "FR", 49]]}"#)
        #expect(country.holds(in: context(event: ["country": .string("FR")])) && country.holds(in: context(event: ["country": .number(49)])))
        #expect(!country.holds(in: context(event: ["country": .string("de")])))
        #expect(try condition(#"{"exists": "event.properties.a.b"}"#).holds(in: context(event: ["a": .object(["b": .number(0)])])))
        #expect(!(try condition(#"{"exists": "event.properties.a.b"}"#)).holds(in: context(event: ["a": .array([.number(0)])])))
    }

    @Test("Every problem is named with its path; paths outside the event and the profile are refused")
    func problemsNamed() throws {
        #expect(try problems(#"{"all": [{"eq": ["event.properties.a", 1]}, {"regex": ["user.locale", ".*"]}]}"#)
            == [FieldProblem(field: "where.all[1].regex", reason: .unknownField, detail: "all, any, not, exists, eq, ne, lt, le, gt, ge or in")])
        #expect(try problems(#"{"eq": ["user.name", "Ana"]}"#).map(\.field) == ["where.eq[0]"], "the name is not a condition's to see")
        #expect(try problems(#"{"eq": ["event.properties", 1]}"#).map(\.field) == ["where.eq[0]"])
        #expect(try problems(#"{"eq": ["event.properties.a", {"b": 1}]}"#).map(\.field) == ["where.eq[1]"])
        #expect(try problems(#"{"eq": ["event.properties.a", 1], "ne": ["event.properties.a", 2]}"#).map(\.reason) == [.invalidValue])
        #expect(try problems(#"{"any": []}"#).map(\.reason) == [.tooShort])
        #expect(try problems(#"{"exists": "event.properties.a..b"}"#).map(\.field) == ["where.exists"])
        let long = String(repeating: "x", count: JourneyCondition.maxLiteralBytes + 1)
        #expect(try problems(#"{"eq": ["event.properties.a", "\#(long)"]}"#).map(\.field) == ["where.eq[1]"])
        let marks = "e" + String(repeating: "\u{301}", count: 200)  // one character, 401 bytes
        #expect(try problems(#"{"eq": ["event.properties.a", "\#(marks)"]}"#).map(\.field) == ["where.eq[1]"])
        #expect(try problems(#"{"eq": ["event.properties.a", null]}"#).map(\.field) == ["where.eq[1]"], "null is absence: exists says it")
        #expect(try problems(#"{"in": ["event.properties.a", ["x", null]]}"#).map(\.field) == ["where.in[1][1]"])
    }

    @Test("The budget: nesting past 8 and more than 64 parts are refused, at the part that broke it")
    func budget() throws {
        var deep = #"{"exists": "event.name"}"#
        for _ in 1..<JourneyCondition.maxDepth { deep = #"{"not": \#(deep)}"# }
        _ = try condition(deep)
        #expect(try problems(#"{"not": \#(deep)}"#).map(\.reason) == [.tooLarge])
        let leaf = #"{"exists": "event.name"}"#
        let wide = { (leaves: Int) in
            #"{"all": ["# + Array(repeating: #"{"any": ["# + Array(repeating: leaf, count: leaves).joined(separator: ",") + "]}", count: 4).joined(separator: ",") + "]}"
        }
        _ = try condition(wide(14))  // 1 + 4 × (1 + 14) = 61 parts
        #expect(try problems(wide(15)).map(\.reason) == [.tooLarge], "65 parts")
    }

    @Test("Generated values: exactly one of lt, eq, gt for two numbers or two strings, ne the opposite of eq; every comparison false when missing or of another type")
    func trichotomy() async {
        let values: [JSONValue] = [.number(-1.5), .number(0), .number(100), .number(1e300), .string(""), .string("DE"), .string("de"), .string("e\u{301}"), .string("\u{e9}"), .bool(true), .bool(false), .array([]), .object([:])]
        await propertyCheck(count: 2_000, input: Gen.uint64()) { seed in
            var random = Xoshiro(seed: seed)
            let value = values[Int(random.next() % UInt64(values.count))]
            let literal = values[Int(random.next() % 11)]  // scalars only: a literal is never an array or an object
            let path = JourneyPath("event.properties.v")!
            let present = JourneyContext(event: .object(["properties": .object(["v": value])]), user: .object([:]))
            let missing = JourneyContext(event: .object(["properties": .object([:])]), user: .object([:]))
            let holds = Dictionary(uniqueKeysWithValues: JourneyCondition.Comparison.allCases.map { ($0, JourneyCondition.compare(path, $0, literal).holds(in: present)) })
            #expect(JourneyCondition.Comparison.allCases.allSatisfy { !JourneyCondition.compare(path, $0, literal).holds(in: missing) }, "seed \(seed)")
            switch (value, literal) {
            case (.number, .number), (.string, .string):
                #expect([holds[.lt]!, holds[.eq]!, holds[.gt]!].filter { $0 }.count == 1 && holds[.ne] == !holds[.eq]!, "\(value) \(literal)")
                #expect(holds[.le] == (holds[.lt]! || holds[.eq]!) && holds[.ge] == (holds[.gt]! || holds[.eq]!))
            case (.bool, .bool):
                #expect(holds[.ne] == !holds[.eq]! && !holds[.lt]! && !holds[.gt]! && !holds[.le]! && !holds[.ge]!)
            default:
                #expect(holds.values.allSatisfy { !$0 }, "\(value) against \(literal): another type never matches")
            }
        }
    }

    /// A random condition within `depth` levels, over the paths `contexts` fill.
    private static func randomCondition(depth: Int, using random: inout Xoshiro) -> JourneyCondition {
        let paths = ["event.properties.amount", "event.properties.country", "event.name", "user.metadata.plan", "user.locale", "event.properties.missing"]
            .map { JourneyPath($0)! }
        let literals: [JSONValue] = [.number(100), .number(-1.5), .string("DE"), .string("gold"), .string(""), .bool(true)]
        let pick = { (count: Int, random: inout Xoshiro) in Int(random.next() % UInt64(count)) }
        switch depth > 1 ? pick(6, &random) : 3 + pick(3, &random) {
        case 0: return .all((0...pick(3, &random)).map { _ in randomCondition(depth: depth - 1, using: &random) })
        case 1: return .any((0...pick(3, &random)).map { _ in randomCondition(depth: depth - 1, using: &random) })
        case 2: return .not(randomCondition(depth: depth - 1, using: &random))
        case 3: return .exists(paths[pick(paths.count, &random)])
        case 4:
            let comparison = JourneyCondition.Comparison.allCases[pick(6, &random)]
            return .compare(paths[pick(paths.count, &random)], comparison, literals[pick(literals.count, &random)])
        default: return .oneOf(paths[pick(paths.count, &random)], (0...pick(3, &random)).map { _ in literals[pick(literals.count, &random)] })
        }
    }

    private static func randomContext(using random: inout Xoshiro) -> JourneyContext {
        let values: [JSONValue?] = [nil, .null, .number(100), .number(250), .number(-1.5), .string("DE"), .string("gold"), .bool(true), .array([]), .object([:])]
        var properties: [String: JSONValue] = [:]
        var metadata: [String: JSONValue] = [:]
        for key in ["amount", "country"] { properties[key] = values[Int(random.next() % UInt64(values.count))] }
        metadata["plan"] = values[Int(random.next() % UInt64(values.count))]
        return JourneyContext(event: .object(["name": .string("low.balance"), "properties": .object(properties)]), user: .object(["metadata": .object(metadata), "locale": .string("de")]))
    }

    @Test("Generated conditions: written and read back unchanged; evaluation obeys De Morgan and never traps")
    func generated() async {
        await propertyCheck(count: 2_000, input: Gen.uint64()) { seed in
            var random = Xoshiro(seed: seed)
            let condition = Self.randomCondition(depth: 4, using: &random)
            var problems: [FieldProblem] = []
            #expect(JourneyCondition.read(condition.json, field: "where", into: &problems) == condition, "seed \(seed): \(problems)")
            let context = Self.randomContext(using: &random)
            let holds = condition.holds(in: context)
            #expect(JourneyCondition.not(condition).holds(in: context) == !holds)
            switch condition {
            case .all(let items): #expect(holds == !JourneyCondition.any(items.map(JourneyCondition.not)).holds(in: context), "seed \(seed)")
            case .any(let items): #expect(holds == !JourneyCondition.all(items.map(JourneyCondition.not)).holds(in: context), "seed \(seed)")
            default: break
            }
        }
    }
}
