public import Foundation

/// A validated identifier: a distinct type per kind of id, so a `UserID` cannot be passed where a
/// `ChannelID` is expected. The raw value is what travels on the wire and in the store.
public protocol Identifier: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible, Comparable
where RawValue == String {
    /// Validates `rawValue`; returns nil when it is not a well-formed id of this kind.
    init?(rawValue: String)
}

extension Identifier {
    public var description: String { rawValue }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Parses an id from a path parameter or a field; an invalid one is a domain error naming `field`.
    public init(validating rawValue: String, field: String) throws(HeraldError) {
        guard let id = Self(rawValue: rawValue) else {
            throw .invalid([FieldProblem(field: field, reason: .invalidIdentifier)])
        }
        self = id
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        guard let id = Self(rawValue: raw) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "invalid identifier")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Ids that Herald generates: a short prefix naming the kind (`ch_`, `msg_`, `app_`) followed by 26
/// characters of Crockford base32 from 128 bits, so they are unguessable and never collide. The bits
/// are random, or for a `timeOrdered` kind 48 bits of milliseconds since 1970 followed by 80 random
/// bits: such ids sort by the time they were made (the alphabet is in ASCII order), and one made a
/// millisecond later sorts after.
public protocol GeneratedIdentifier: Identifier {
    static var prefix: String { get }
    /// Whether ids start with the time they were made.
    static var timeOrdered: Bool { get }
}

extension GeneratedIdentifier {
    public static var timeOrdered: Bool { false }

    public static func generate() -> Self { generate(at: Date()) }

    /// An id made at `date` (which counts only for a `timeOrdered` kind).
    public static func generate(at date: Date) -> Self {
        var bits = RandomToken.bytes(16)
        if timeOrdered {
            // Clamped, so a clock before 1970, past the year 10889 or not a number cannot trap.
            let raw = (date.timeIntervalSince1970 * 1000).rounded()
            let milliseconds = raw.isNaN ? 0 : UInt64(min(max(raw, 0), Double(1 << 48 - 1)))
            for index in 0..<6 { bits[index] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - index))) }
        }
        return Self(rawValue: prefix + RandomToken.base32(bits))!
    }

    public static func isWellFormed(_ raw: String) -> Bool {
        guard raw.hasPrefix(prefix) else { return false }
        let body = raw.utf8.dropFirst(prefix.utf8.count)
        return body.count == 26 && body.allSatisfy(RandomToken.isBase32)
    }
}
