import Foundation
import HeraldCore
import PropertyBased
import Testing

/// Parsers of query parameters and client frames against generated input: every integer boundary,
/// signs, exponents, huge and empty strings. The property: a valid value within its documented range,
/// or an `invalid` error naming the field; never a trap.
@Suite("Query and frame parsers, by property")
struct QueryPropertyTests {
    static let boundaries: [String] = [
        "0", "1", "-1", "2", "9007199254740991", "9007199254740992", "9007199254740993", "9223372036854775806", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "18446744073709551616", "1e3", "1.0", "0x10", "+5", " 5", "",
        "abc", "٣", String(repeating: "9", count: 400), "200", "201",
    ]
    /// A boundary, an absent parameter, or any Int64 written out.
    static let value = Gen.int(in: 0...(boundaries.count + 3)).map { index -> String? in
        if index < boundaries.count { return boundaries[index] }
        if index == boundaries.count { return nil }
        return String(Int64.random(in: .min ... .max))
    }

    @Test("History queries: in range or 422, never a trap (the after=Int64.max&before=1 crash)")
    func history() async {
        await propertyCheck(count: 3_000, input: Self.value, Self.value, Self.value) { after, before, limit in
            do {
                let query = try HistoryQuery(after: after, before: before, limit: limit)
                #expect((0...Limits.maxSeq).contains(query.after ?? 0) && (1...Limits.maxSeq).contains(query.before ?? 1))
                #expect((1...Limits.pageSize).contains(query.limit))
                if let after = query.after, let before = query.before { #expect(before > after + 1) }
            } catch {
                guard case HeraldError.invalid(let problems) = error else { Issue.record("not invalid: \(error)"); return }
                #expect(!problems.isEmpty && problems.allSatisfy { ["after", "before", "limit"].contains($0.field) })
            }
        }
    }

    @Test("The exact request that killed the process is a 422 naming its fields")
    func reproducedCrash() {
        #expect(throws: HeraldError.self) { try HistoryQuery(after: "9223372036854775807", before: "1", limit: nil) }
    }

    @Test("Client frames with any seq: in range or an error frame, never a trap")
    func frames() async {
        await propertyCheck(count: 2_000, input: Gen.element(of: Self.boundaries).map { $0 ?? "0" }, Gen.element(of: ["sync", "read"]).map { $0 ?? "sync" }) {
            number, type in
            let field = type == "sync" ? "afterSeq" : "seq"
            let text = #"{"type":"\#(type)","channelId":"ch_0000000000000000000000000a","\#(field)":\#(number.isEmpty ? "null" : number)}"#
            switch try? ClientFrame(text: text) {
            case .sync(_, let after)?: #expect((0...Limits.maxSeq).contains(after))
            case .read(_, let seq)?: #expect((0...Limits.maxSeq).contains(seq))
            default: break
            }
        }
    }
}
