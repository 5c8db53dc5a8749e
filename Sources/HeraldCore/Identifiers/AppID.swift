/// A tenant: every other resource belongs to exactly one app.
public struct AppID: GeneratedIdentifier {
    public static let prefix = "app_"
    public let rawValue: String

    public init?(rawValue: String) {
        guard Self.isWellFormed(rawValue) else { return nil }
        self.rawValue = rawValue
    }
}
