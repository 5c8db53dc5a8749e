public import Foundation

/// What the customer chose (`GET`/`PUT /v1/me/preferences`); the business reads it on the user.
/// Marketing is opt-in: without consent a marketing notification is not delivered to them at all.
public struct UserPreferences: Codable, Equatable, Sendable {
    public struct Consents: Codable, Equatable, Sendable {
        public var marketing = false
    }

    public var consents = Consents()
    /// Marketing waits out this window, in the user's `timezone` (UTC when they have none).
    public var quietHours: QuietHours?

    public init(marketing: Bool = false, quietHours: QuietHours? = nil) {
        self.consents.marketing = marketing
        self.quietHours = quietHours
    }

    /// Whether a notification of `category` may reach the customer at all: marketing only with their
    /// consent; security and transactional always. The one place this rule lives (fan-outs and
    /// journeys both ask).
    public func admits(_ category: NotificationCategory) -> Bool {
        category != .marketing || consents.marketing
    }

    /// These preferences with a `PUT` body merged in: `consents` fields given replace theirs;
    /// `quietHours` replaces the window, or clears it with `null`.
    public func merging(body: Data) throws(HeraldError) -> UserPreferences {
        var merged = self
        var reader = try ObjectReader(body: body)
        if let value = reader.value("consents") {
            var consents = try ObjectReader(value, path: "consents.")
            if let marketing = consents.bool("marketing") { merged.consents.marketing = marketing }
            reader.absorb(consents)
        }
        if reader.isNull("quietHours") {
            merged.quietHours = nil
        } else if let value = reader.value("quietHours") {
            var window = try ObjectReader(value, path: "quietHours.")
            let start = window.string("start", required: true), end = window.string("end", required: true)
            let startMinutes = start.flatMap(QuietHours.minutes), endMinutes = end.flatMap(QuietHours.minutes)
            if start != nil, startMinutes == nil { window.report("start", .invalidValue, detail: "HH:MM, 24-hour clock") }
            if end != nil, endMinutes == nil { window.report("end", .invalidValue, detail: "HH:MM, 24-hour clock") }
            if let startMinutes, let endMinutes { merged.quietHours = QuietHours(start: startMinutes, end: endMinutes) }
            reader.absorb(window)
        }
        try reader.finish()
        return merged
    }

    /// When marketing due at `instant` reaches this user.
    public func marketingDeliveryTime(for instant: Date, timeZone: String?) -> Date {
        guard let quietHours else { return instant }
        return quietHours.deliveryTime(for: instant, in: timeZone.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "UTC")!)
    }
}
