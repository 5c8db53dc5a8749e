/// Time-ordered (`GeneratedIdentifier.timeOrdered`): a fan-out writes a thousand items a page, and
/// random ids put each in a random page of the id index, which then wrote about 4 KB of WAL per item
/// (issue 20); ids that grow with time fill the index's last pages instead. An item's time is no
/// secret (its payload says it), and its 80 random bits are what make it unguessable.
public struct InboxItemID: GeneratedIdentifier {
    public static let prefix = "inb_"
    public static let timeOrdered = true
    public let rawValue: String

    public init?(rawValue: String) {
        guard Self.isWellFormed(rawValue) else { return nil }
        self.rawValue = rawValue
    }
}
