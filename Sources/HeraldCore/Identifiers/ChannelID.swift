public struct ChannelID: GeneratedIdentifier {
    public static let prefix = "ch_"
    public let rawValue: String

    public init?(rawValue: String) {
        guard Self.isWellFormed(rawValue) else { return nil }
        self.rawValue = rawValue
    }
}
