public struct NotificationID: GeneratedIdentifier {
    public static let prefix = "ntf_"
    public let rawValue: String

    public init?(rawValue: String) {
        guard Self.isWellFormed(rawValue) else { return nil }
        self.rawValue = rawValue
    }
}
