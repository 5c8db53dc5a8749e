public struct MessageID: GeneratedIdentifier {
    public static let prefix = "msg_"
    public let rawValue: String

    public init?(rawValue: String) {
        guard Self.isWellFormed(rawValue) else { return nil }
        self.rawValue = rawValue
    }
}
