public struct InboxItemID: GeneratedIdentifier {
    public static let prefix = "inb_"
    public let rawValue: String

    public init?(rawValue: String) {
        guard Self.isWellFormed(rawValue) else { return nil }
        self.rawValue = rawValue
    }
}
