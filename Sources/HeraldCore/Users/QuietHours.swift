public import Foundation

/// A daily window, in the user's own time zone, during which marketing waits (`"22:00"` to `"08:00"`
/// spans midnight). Security and transactional content is never held.
public struct QuietHours: Codable, Equatable, Sendable {
    /// Minutes after local midnight.
    public var start: Int
    public var end: Int

    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }

    /// `"HH:MM"`, 24-hour clock.
    public static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 }), let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour),
            (0..<60).contains(minute)
        else { return nil }
        return hour * 60 + minute
    }

    static func format(_ minutes: Int) -> String {
        let hour = minutes / 60, minute = minutes % 60
        return (hour < 10 ? "0" : "") + "\(hour):" + (minute < 10 ? "0" : "") + "\(minute)"
    }

    public func contains(minuteOfDay minute: Int) -> Bool {
        start <= end ? (start..<end).contains(minute) : (minute >= start || minute < end)
    }

    /// When something due at `instant` may be delivered: `instant` itself outside the window, else the
    /// window's next end in `timeZone` (daylight-saving changes included).
    public func deliveryTime(for instant: Date, in timeZone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let local = calendar.dateComponents([.hour, .minute], from: instant)
        guard start != end, contains(minuteOfDay: (local.hour ?? 0) * 60 + (local.minute ?? 0)) else { return instant }
        return calendar.nextDate(after: instant, matching: DateComponents(hour: end / 60, minute: end % 60, second: 0), matchingPolicy: .nextTime)
            ?? instant
    }

    enum CodingKeys: String, CodingKey { case start, end }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let start = Self.minutes(try container.decode(String.self, forKey: .start)),
            let end = Self.minutes(try container.decode(String.self, forKey: .end))
        else { throw DecodingError.dataCorruptedError(forKey: .start, in: container, debugDescription: "HH:MM") }
        self.init(start: start, end: end)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.format(start), forKey: .start)
        try container.encode(Self.format(end), forKey: .end)
    }
}
