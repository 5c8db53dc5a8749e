/// An e-mail address Herald will write to: a dot-atom local part and a domain name (RFC 5321's
/// common form), at most 254 bytes. Quoted local parts, comments and address literals are refused:
/// nothing that could carry a line break or a second recipient into an SMTP command or a header.
public struct EmailAddress: Hashable, Sendable, Codable, CustomStringConvertible {
    public let text: String
    public var description: String { text }

    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count <= 254, let at = bytes.lastIndex(of: UInt8(ascii: "@")) else { return nil }
        let local = bytes[..<at], domainBytes = bytes[(at + 1)...]
        guard (1...64).contains(local.count), local.first != UInt8(ascii: "."), local.last != UInt8(ascii: "."),
            !zip(local, local.dropFirst()).contains(where: { $0 == UInt8(ascii: ".") && $1 == UInt8(ascii: ".") }),
            local.allSatisfy(Self.isAtomByte), Self.isDomain(domainBytes)
        else { return nil }
        self.text = text
        domain = String(decoding: domainBytes, as: UTF8.self)
    }

    /// The part after the `@`.
    public let domain: String

    private static let atomPunctuation = Array("!#$%&'*+-/=?^_`{|}~.".utf8)

    private static func isAtomByte(_ byte: UInt8) -> Bool {
        NameBytes.isLetter(byte) || NameBytes.isDigit(byte) || atomPunctuation.contains(byte)
    }

    /// Labels of letters, digits and inner hyphens, at least two, each 1–63 bytes.
    public static func isDomain(_ bytes: ArraySlice<UInt8>) -> Bool {
        let labels = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.count >= 2, bytes.count <= 253 else { return false }
        return labels.allSatisfy { label in
            (1...63).contains(label.count) && label.first != UInt8(ascii: "-") && label.last != UInt8(ascii: "-")
                && label.allSatisfy { NameBytes.isLetter($0) || NameBytes.isDigit($0) || $0 == UInt8(ascii: "-") }
        }
    }

    private enum CodingKeys: CodingKey {}

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let address = Self(text) else { throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an e-mail address") }
        self = address
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

/// A phone number in E.164 form: `+`, then 8 to 15 digits, the first not 0.
public struct PhoneNumber: Hashable, Sendable, Codable, CustomStringConvertible {
    public let text: String
    public var description: String { text }

    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.first == UInt8(ascii: "+"), (9...16).contains(bytes.count), bytes[1] != UInt8(ascii: "0"),
            bytes.dropFirst().allSatisfy(NameBytes.isDigit)
        else { return nil }
        self.text = text
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let number = Self(text) else { throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an E.164 phone number") }
        self = number
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}
