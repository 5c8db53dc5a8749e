/// The business's own id for a customer: 1–128 characters of `[A-Za-z0-9._@:-]`, unique within an app.
public struct UserID: Identifier {
    public let rawValue: String

    public init?(rawValue: String) {
        guard Self.isValid(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    static func isValid(_ raw: String) -> Bool {
        let bytes = raw.utf8
        return (1...128).contains(bytes.count) && bytes.allSatisfy(Self.isAllowed)
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "@"), UInt8(ascii: ":"), UInt8(ascii: "-"): true
        default: false
        }
    }
}
