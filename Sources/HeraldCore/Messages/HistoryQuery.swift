/// `?after=SEQ&before=SEQ&limit=N` of a history request.
///
/// With `before` only, the page is the newest `limit` messages before it (paging backwards); otherwise
/// the oldest `limit` messages after `after` (paging forwards, as a reconnecting client does). With
/// neither, the newest messages. The page is always ordered by ascending seq.
public struct HistoryQuery: Equatable, Sendable {
    public var after: Int64?
    public var before: Int64?
    public var limit: Int

    public init(after: Int64? = nil, before: Int64? = nil, limit: Int = Limits.defaultPageSize) {
        self.after = after
        self.before = before
        self.limit = limit
    }

    /// Reads the query parameters; each malformed one is reported.
    public init(after: String?, before: String?, limit: String?) throws(HeraldError) {
        var problems: [FieldProblem] = []
        func parse(_ text: String?, _ name: String, _ range: ClosedRange<Int64>) -> Int64? {
            guard let text else { return nil }
            guard let value = Int64(text), range.contains(value) else {
                problems.append(FieldProblem(field: name, reason: .outOfRange, detail: "an integer in \(range.lowerBound)...\(range.upperBound)"))
                return nil
            }
            return value
        }
        self.after = parse(after, "after", 0...Limits.maxSeq)
        self.before = parse(before, "before", 1...Limits.maxSeq)
        self.limit = Int(parse(limit, "limit", 1...Int64(Limits.pageSize)) ?? Int64(Limits.defaultPageSize))
        // Both are within 0…2^53 here, so the difference cannot overflow (`after + 1` could, before the range).
        if let after = self.after, let before = self.before, before - after <= 1 {
            problems.append(FieldProblem(field: "before", reason: .outOfRange, detail: "before must be greater than after + 1"))
        }
        if !problems.isEmpty { throw .invalid(problems) }
    }

    /// Pages backwards (newest first, then reversed) unless only `after` bounds the page.
    public var isBackward: Bool { after == nil }
}
