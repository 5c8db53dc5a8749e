/// One customer's digest of one template, from its first entry to the message that sends it: `dig_…`.
public struct JourneyDigestID: GeneratedIdentifier {
    public static let prefix = "dig_"
    public static let timeOrdered = true
    public let rawValue: String

    public init?(rawValue: String) {
        guard Self.isWellFormed(rawValue) else { return nil }
        self.rawValue = rawValue
    }
}
