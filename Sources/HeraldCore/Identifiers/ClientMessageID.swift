/// The id a client gives a send so that a retry returns the first message instead of a second one.
/// Also the shape of an HTTP `Idempotency-Key`: 1–128 printable ASCII characters.
public struct ClientMessageID: Identifier {
    public let rawValue: String

    public init?(rawValue: String) {
        let bytes = rawValue.utf8
        guard (1...128).contains(bytes.count), bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
        self.rawValue = rawValue
    }
}
