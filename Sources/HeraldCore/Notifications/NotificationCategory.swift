/// What kind of business message something is; it decides consent, timing and push privacy.
///
/// - `security`: fraud alerts, sign-in confirmations. Never delayed, never suppressed.
/// - `transactional`: payments, reminders, statements, policy changes. Always delivered.
/// - `marketing`: promotions, coupons, invitations. Only to users whose `consents.marketing` is true,
///   and held back during their quiet hours (in their own time zone), then delivered.
public enum NotificationCategory: String, Codable, CaseIterable, Sendable, Comparable {
    case security
    case transactional
    case marketing

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Links in these categories must lead to allowed domains (`linkPolicy`).
    public var requiresLinkPolicy: Bool { self != .marketing }

    static let choices = allCases.map(\.rawValue).joined(separator: ", ")
}
