public struct DeviceID: GeneratedIdentifier {
    public static let prefix = "dev_"
    public let rawValue: String

    public init?(rawValue: String) {
        guard Self.isWellFormed(rawValue) else { return nil }
        self.rawValue = rawValue
    }
}
