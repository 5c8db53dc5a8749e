// libFuzzer target for journey conditions (`scripts/fuzz-conditions.sh` builds and runs it).
//
// Compiled together with HeraldCore's JSON parser and `JourneyCondition` into one module. For any bytes
// that parse as JSON: reading a condition never traps; what it accepts is within the budget (depth,
// parts), written back as JSON it reads again to the same condition; and evaluating it against the
// input itself as event properties and customer metadata never traps (De Morgan's laws are checked on
// the way, cheaply). Comparisons' semantics are checked by JourneyConditionTests.

import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJourneyCondition(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let buffer = UnsafeBufferPointer(start: bytes, count: count)
    // The parser's contract: valid UTF-8 only (JSONValue.parse checks first).
    guard String(validating: buffer, as: UTF8.self) != nil, let value = try? JSONParser.parse(buffer) else { return 0 }
    var problems: [FieldProblem] = []
    guard let condition = JourneyCondition.read(value, field: "where", into: &problems) else {
        precondition(!problems.isEmpty, "refused without naming a problem")
        return 0
    }
    precondition(problems.isEmpty, "accepted with problems")
    precondition(depth(condition) <= JourneyCondition.maxDepth && nodes(condition) <= JourneyCondition.maxNodes, "over budget")
    var again: [FieldProblem] = []
    precondition(JourneyCondition.read(condition.json, field: "where", into: &again) == condition, "does not read back")
    let context = JourneyContext(event: .object(["name": .string("x"), "properties": value]), user: .object(["metadata": value]))
    let holds = condition.holds(in: context)
    switch condition {
    case .all(let items): precondition(holds == !JourneyCondition.any(items.map(JourneyCondition.not)).holds(in: context), "all against De Morgan")
    case .any(let items): precondition(holds == !JourneyCondition.all(items.map(JourneyCondition.not)).holds(in: context), "any against De Morgan")
    default: break
    }
    return 0
}

private func depth(_ condition: JourneyCondition) -> Int {
    switch condition {
    case .all(let items), .any(let items): 1 + (items.map(depth).max() ?? 0)
    case .not(let inner): 1 + depth(inner)
    default: 1
    }
}

private func nodes(_ condition: JourneyCondition) -> Int {
    switch condition {
    case .all(let items), .any(let items): 1 + items.map(nodes).reduce(0, +)
    case .not(let inner): 1 + nodes(inner)
    default: 1
    }
}
