/// A customer event recorded by `POST /v1/events` or by Herald itself (`item.read`): `evt_…`, in the
/// order they were recorded.
public struct EventID: GeneratedIdentifier {
    public static let prefix = "evt_"
    public static let timeOrdered = true
    public let rawValue: String

    public init?(rawValue: String) {
        guard Self.isWellFormed(rawValue) else { return nil }
        self.rawValue = rawValue
    }
}
