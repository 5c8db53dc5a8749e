/// Time-ordered (`GeneratedIdentifier.timeOrdered`): messages are written at a high rate, and ids that
/// grow with time add to the end of the id index instead of a random page of it (issue 19).
public struct MessageID: GeneratedIdentifier {
    public static let prefix = "msg_"
    public static let timeOrdered = true
    public let rawValue: String

    public init?(rawValue: String) {
        guard Self.isWellFormed(rawValue) else { return nil }
        self.rawValue = rawValue
    }
}

