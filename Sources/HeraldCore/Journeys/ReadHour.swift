public import Foundation

/// "The hour the customer most often reads": learned from the times they read their own items, in
/// their time zone, for a journey's `{"wait": {"until": "read-hour"}}`.
public enum ReadHour {
    /// How far back reads count, and how many at most.
    public static let lookbackSeconds: TimeInterval = 90 * 86_400
    public static let maxReads = 500

    /// The hour (0–23, in `timeZone`) with the most reads; the earliest such hour on a tie; nil with none.
    public static func usual(from reads: [Date], timeZone: TimeZone) -> Int? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var counts = [Int](repeating: 0, count: 24)
        for read in reads { counts[calendar.component(.hour, from: read)] += 1 }
        guard let best = counts.max(), best > 0 else { return nil }
        return counts.firstIndex(of: best)
    }

    /// The start of the next `hour` in `timeZone` at or after `date`: `date` itself while that hour runs.
    public static func next(after date: Date, hour: Int, timeZone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        if calendar.component(.hour, from: date) == hour { return date }
        return calendar.nextDate(after: date, matching: DateComponents(hour: hour, minute: 0, second: 0), matchingPolicy: .nextTime) ?? date
    }
}
