/// A journey's condition (issue 21): a small declarative expression over what is known when it is
/// evaluated, the event that arrived and the customer's profile, as JSON a bank's staff write:
///
/// ```json
/// {"all": [{"eq": ["event.properties.decision", "declined"]}, {"not": {"exists": "user.metadata.monitoring"}}]}
/// ```
///
/// - `{"all": [c, …]}`, `{"any": [c, …]}` (1 to 16 conditions each), `{"not": c}`;
/// - `{"exists": path}`: the path names a value (not `null`);
/// - `{"eq" | "ne" | "lt" | "le" | "gt" | "ge": [path, literal]}` and `{"in": [path, [literal, …]]}`
///   (at most 32 literals), where a literal is a string (at most 256 bytes of UTF-8), a finite number
///   or a boolean; `null` is no literal (a value that is `null` is absent: use `exists`).
///
/// Paths are dotted: `event.name`, `event.occurredAt`, `event.properties.<key>…`, `user.locale`,
/// `user.timezone`, `user.metadata.<key>…`, at most 8 segments (the root included) of letters, digits,
/// `_` and `-`.
///
/// Evaluation has no loop, call or recursion the author controls: it is bounded by the budget checked
/// when the condition is read (at most 8 levels deep and 64 nodes), never by the data. A comparison
/// with a value that is missing, or of another type than its literal, is false (`ne` included: use
/// `not` for "absent or different"); numbers compare as numbers (doubles: integers past 2^53 only
/// approximately), strings by their UTF-8 bytes (so RFC 3339 times of one form compare in time order,
/// and "é" written as one scalar or as e and an accent are different), booleans only for `eq` and `ne`.
public indirect enum JourneyCondition: Equatable, Sendable {
    case all([JourneyCondition])
    case any([JourneyCondition])
    case not(JourneyCondition)
    case exists(JourneyPath)
    case compare(JourneyPath, Comparison, JSONValue)
    case oneOf(JourneyPath, [JSONValue])

    public enum Comparison: String, CaseIterable, Sendable {
        case eq, ne, lt, le, gt, ge
    }

    public static let maxDepth = 8
    public static let maxNodes = 64
    public static let maxBranches = 16
    public static let maxListed = 32
    public static let maxLiteralBytes = 256

    // MARK: evaluation

    /// Whether the condition holds for the event and the customer.
    public func holds(in context: JourneyContext) -> Bool {
        switch self {
        case .all(let conditions): conditions.allSatisfy { $0.holds(in: context) }
        case .any(let conditions): conditions.contains { $0.holds(in: context) }
        case .not(let condition): !condition.holds(in: context)
        case .exists(let path): context.value(at: path) != nil
        case .compare(let path, let comparison, let literal):
            context.value(at: path).map { Self.compare($0, comparison, literal) } ?? false
        case .oneOf(let path, let literals):
            context.value(at: path).map { value in literals.contains { Self.compare(value, .eq, $0) } } ?? false
        }
    }

    private static func compare(_ value: JSONValue, _ comparison: Comparison, _ literal: JSONValue) -> Bool {
        let order: Int
        switch (value, literal) {
        case (.number(let left), .number(let right)):
            guard !left.isNaN, !right.isNaN else { return false }
            order = left < right ? -1 : (left > right ? 1 : 0)
        case (.string(let left), .string(let right)):
            order = left.utf8.lexicographicallyPrecedes(right.utf8) ? -1 : (left.utf8.elementsEqual(right.utf8) ? 0 : 1)
        case (.bool(let left), .bool(let right)):
            guard comparison == .eq || comparison == .ne else { return false }
            order = left == right ? 0 : 1
        default:
            return false
        }
        switch comparison {
        case .eq: return order == 0
        case .ne: return order != 0
        case .lt: return order < 0
        case .le: return order <= 0
        case .gt: return order > 0
        case .ge: return order >= 0
        }
    }

    // MARK: reading

    /// Reads a condition; each problem is appended to `problems` with its path under `field`
    /// (`trigger.where.all[1].eq`), and nil is returned when there was one.
    public static func read(_ value: JSONValue, field: String, into problems: inout [FieldProblem]) -> JourneyCondition? {
        var budget = maxNodes
        let before = problems.count
        let condition = read(value, field: field, depth: 1, budget: &budget, problems: &problems)
        return problems.count == before ? condition : nil
    }

    private static func read(_ value: JSONValue, field: String, depth: Int, budget: inout Int, problems: inout [FieldProblem]) -> JourneyCondition? {
        guard depth <= maxDepth else {
            problems.append(FieldProblem(field: field, reason: .tooLarge, detail: "conditions nest at most \(maxDepth) deep"))
            return nil
        }
        budget -= 1
        guard budget >= 0 else {
            if budget == -1 { problems.append(FieldProblem(field: field, reason: .tooLarge, detail: "a condition has at most \(maxNodes) parts")) }
            return nil
        }
        guard case .object(let object) = value, object.count == 1, let (operator_, operand) = object.first else {
            problems.append(FieldProblem(field: field, reason: .invalidValue, detail: "an object with one operator: " + operators))
            return nil
        }
        let here = field + "." + operator_
        switch operator_ {
        case "all", "any":
            guard case .array(let items) = operand else {
                problems.append(FieldProblem(field: here, reason: .wrongType, detail: "expected an array of conditions"))
                return nil
            }
            guard (1...maxBranches).contains(items.count) else {
                problems.append(FieldProblem(field: here, reason: items.isEmpty ? .tooShort : .tooMany, detail: "1 to \(maxBranches) conditions"))
                return nil
            }
            var conditions: [JourneyCondition] = []
            for (index, item) in items.enumerated() {
                if let condition = read(item, field: "\(here)[\(index)]", depth: depth + 1, budget: &budget, problems: &problems) {
                    conditions.append(condition)
                }
            }
            guard conditions.count == items.count else { return nil }
            return operator_ == "all" ? .all(conditions) : .any(conditions)
        case "not":
            return read(operand, field: here, depth: depth + 1, budget: &budget, problems: &problems).map(JourneyCondition.not)
        case "exists":
            guard case .string(let text) = operand, let path = JourneyPath(text) else {
                problems.append(FieldProblem(field: here, reason: .invalidValue, detail: JourneyPath.form))
                return nil
            }
            return .exists(path)
        case "in":
            guard case .array(let pair) = operand, pair.count == 2, case .string(let text) = pair[0], case .array(let literals) = pair[1] else {
                problems.append(FieldProblem(field: here, reason: .invalidValue, detail: "[path, [literal, …]]"))
                return nil
            }
            guard let path = JourneyPath(text) else {
                problems.append(FieldProblem(field: here + "[0]", reason: .invalidValue, detail: JourneyPath.form))
                return nil
            }
            guard (1...maxListed).contains(literals.count) else {
                problems.append(FieldProblem(field: here + "[1]", reason: literals.isEmpty ? .tooShort : .tooMany, detail: "1 to \(maxListed) literals"))
                return nil
            }
            for (index, literal) in literals.enumerated() where !isLiteral(literal) {
                problems.append(FieldProblem(field: "\(here)[1][\(index)]", reason: .invalidValue, detail: literalForm))
                return nil
            }
            return .oneOf(path, literals)
        default:
            guard let comparison = Comparison(rawValue: operator_) else {
                problems.append(FieldProblem(field: here, reason: .unknownField, detail: operators))
                return nil
            }
            guard case .array(let pair) = operand, pair.count == 2, case .string(let text) = pair[0] else {
                problems.append(FieldProblem(field: here, reason: .invalidValue, detail: "[path, literal]"))
                return nil
            }
            guard let path = JourneyPath(text) else {
                problems.append(FieldProblem(field: here + "[0]", reason: .invalidValue, detail: JourneyPath.form))
                return nil
            }
            guard isLiteral(pair[1]) else {
                problems.append(FieldProblem(field: here + "[1]", reason: .invalidValue, detail: literalForm))
                return nil
            }
            return .compare(path, comparison, pair[1])
        }
    }

    private static let operators = "all, any, not, exists, eq, ne, lt, le, gt, ge or in"
    private static let literalForm = "a string of at most \(maxLiteralBytes) bytes, a finite number or a boolean (for null, use exists)"

    /// A literal a condition or a journey's variable may hold.
    static func isLiteral(_ value: JSONValue) -> Bool {
        switch value {
        case .string(let text): text.utf8.count <= maxLiteralBytes
        case .number(let number): number.isFinite
        case .bool: true
        case .null, .array, .object: false
        }
    }

    // MARK: writing

    /// The condition as the JSON it was read from (`read` gives it back).
    public var json: JSONValue {
        switch self {
        case .all(let conditions): .object(["all": .array(conditions.map(\.json))])
        case .any(let conditions): .object(["any": .array(conditions.map(\.json))])
        case .not(let condition): .object(["not": condition.json])
        case .exists(let path): .object(["exists": .string(path.text)])
        case .compare(let path, let comparison, let literal): .object([comparison.rawValue: .array([.string(path.text), literal])])
        case .oneOf(let path, let literals): .object(["in": .array([.string(path.text), .array(literals)])])
        }
    }
}

/// A dotted path into what a condition sees: `event.…` or `user.…` (`JourneyCondition`).
public struct JourneyPath: Hashable, Sendable {
    public enum Root: String, Sendable { case event, user }

    public let root: Root
    /// The segments after the root.
    public let segments: [String]

    /// Segments, the root included.
    public static let maxSegments = 8
    public static let maxSegmentBytes = 64
    static let form = "a path such as event.properties.amount or user.metadata.plan (at most 8 segments of letters, digits, _ and -)"

    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (2...Self.maxSegments).contains(parts.count), let root = Root(rawValue: String(parts[0])),
            parts.allSatisfy({ part in NameBytes.isSegment(part, maxBytes: Self.maxSegmentBytes) })
        else { return nil }
        let segments = parts.dropFirst().map(String.init)
        switch root {
        case .event:
            guard segments == ["name"] || segments == ["occurredAt"] || (segments[0] == "properties" && segments.count > 1) else { return nil }
        case .user:
            guard segments == ["locale"] || segments == ["timezone"] || (segments[0] == "metadata" && segments.count > 1) else { return nil }
        }
        self.root = root
        self.segments = segments
    }

    public var text: String { ([root.rawValue] + segments).joined(separator: ".") }
}

/// What a journey's conditions see: the event that arrived (`{"name", "occurredAt", "properties"}`)
/// and the customer (`{"locale", "timezone", "metadata"}`), as JSON.
public struct JourneyContext: Sendable {
    public var event: JSONValue
    public var user: JSONValue

    public init(event: JSONValue, user: JSONValue) {
        self.event = event
        self.user = user
    }

    /// The value the path names, nil when it names nothing or `null`.
    public func value(at path: JourneyPath) -> JSONValue? {
        var current = path.root == .event ? event : user
        for segment in path.segments {
            guard case .object(let object) = current, let next = object[segment] else { return nil }
            current = next
        }
        return current == .null ? nil : current
    }
}
