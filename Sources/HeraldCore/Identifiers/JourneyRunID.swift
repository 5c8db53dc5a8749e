/// One customer's way through one version of a journey, from entry to its end: `jrn_…`.
public struct JourneyRunID: GeneratedIdentifier {
    public static let prefix = "jrn_"
    public static let timeOrdered = true
    public let rawValue: String

    public init?(rawValue: String) {
        guard Self.isWellFormed(rawValue) else { return nil }
        self.rawValue = rawValue
    }
}
