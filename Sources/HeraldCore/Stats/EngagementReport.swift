public import Foundation

/// `GET /v1/stats`: how well the app reaches customers, per category, for items that entered inboxes
/// in `[from, to)`. Rates are fractions of `sent` (0 when nothing was sent).
public struct EngagementReport: Codable, Equatable, Sendable {
    public struct Category: Codable, Equatable, Sendable {
        public var sent: Int
        public var delivered: Int
        public var read: Int
        public var acted: Int
        public var deliveredRate: Double
        public var readRate: Double
        public var actedRate: Double
        /// From entering the inbox to being read; nil when nothing was read.
        public var medianSecondsToRead: Double?
        public var medianSecondsToAct: Double?
        /// Marketing only: consents withdrawn in the period, and their share of the users who received marketing.
        public var optOuts: Int?
        public var optOutRate: Double?

        public init(
            sent: Int, delivered: Int, read: Int, acted: Int, medianSecondsToRead: Double?, medianSecondsToAct: Double?, optOuts: Int? = nil,
            optOutRate: Double? = nil
        ) {
            func rate(_ count: Int) -> Double { sent == 0 ? 0 : (Double(count) / Double(sent) * 10_000).rounded() / 10_000 }
            self.sent = sent
            self.delivered = delivered
            self.read = read
            self.acted = acted
            deliveredRate = rate(delivered)
            readRate = rate(read)
            actedRate = rate(acted)
            self.medianSecondsToRead = medianSecondsToRead
            self.medianSecondsToAct = medianSecondsToAct
            self.optOuts = optOuts
            self.optOutRate = optOutRate
        }
    }

    public var from: Date
    public var to: Date
    public var categories: [String: Category]

    public init(from: Date, to: Date, categories: [NotificationCategory: Category]) {
        self.from = from
        self.to = to
        self.categories = Dictionary(uniqueKeysWithValues: categories.map { ($0.key.rawValue, $0.value) })
    }

    /// Parses `from` and `to` (RFC 3339); defaults to the 30 days before `now`, at most 366 days.
    public static func period(from: String?, to: String?, now: Date) throws(HeraldError) -> (Date, Date) {
        var problems: [FieldProblem] = []
        let end = to.map { text -> Date? in
            let date = WireTime.parse(text)
            if date == nil { problems.append(FieldProblem(field: "to", reason: .invalidValue, detail: "an RFC 3339 time")) }
            return date
        } ?? now
        let start = from.map { text -> Date? in
            let date = WireTime.parse(text)
            if date == nil { problems.append(FieldProblem(field: "from", reason: .invalidValue, detail: "an RFC 3339 time")) }
            return date
        } ?? end.map { $0.addingTimeInterval(-30 * 86_400) }
        if let start, let end {
            if start >= end { problems.append(FieldProblem(field: "from", reason: .outOfRange, detail: "must be before to")) }
            if end.timeIntervalSince(start) > 366 * 86_400 { problems.append(FieldProblem(field: "from", reason: .outOfRange, detail: "at most 366 days before to")) }
        }
        if !problems.isEmpty { throw .invalid(problems) }
        return (start!, end!)
    }
}
