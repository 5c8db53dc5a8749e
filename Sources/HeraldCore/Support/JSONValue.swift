public import Foundation

/// Arbitrary JSON, for the free-form parts of the API (`data`, `metadata`) and for reading request
/// bodies field by field (see `ObjectReader`).
public enum JSONValue: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Each failed attempt below throws (and allocates) a `DecodingError`, so the likeliest types come
    /// first: strings, the most common values of client frames and bodies, at no failed attempt, and an
    /// object at three instead of four. `JSONDecoder` converts between none of these types, so the
    /// order does not change what a value decodes to.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else {
            self = .array(try container.decode([JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if value.rounded() == value, abs(value) < 9.0e15 {
                try container.encode(Int64(value))
            } else {
                try container.encode(value)
            }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The JSON type's name as used in `wrong_type` problems.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Canonical bytes (sorted keys): the same value always encodes the same way, so a hash of it
    /// tells whether two idempotent requests carried the same body. Empty for a value with a number
    /// that is not finite (which no parsed value has).
    ///
    /// Stored fingerprints, signatures and audit hashes were made over the bytes `JSONEncoder` wrote
    /// (`.sortedKeys`, `.withoutEscapingSlashes`, through `encode(to:)` above), so these are those bytes,
    /// written here directly (issue 19: the encoder was a fifth of a send's work before the commit).
    /// `JSONValueCanonicalTests` compare the two on generated values, and the JSON fuzz target on every
    /// value it reads. The rules: members sorted by the UTF-8 bytes of their names; strings escaped as
    /// `JSONBytes.appendString` does; a whole number below 9e15 in magnitude written as an integer (`-0`
    /// as `0`), any other number as Swift's shortest form without a trailing `.0`; no white space.
    public func canonicalData() -> Data {
        var bytes: [UInt8] = []
        guard Self.writeCanonical(self, to: &bytes) else { return Data() }
        return Data(bytes)
    }

    private static func writeCanonical(_ value: JSONValue, to bytes: inout [UInt8]) -> Bool {
        switch value {
        case .null: bytes.append(contentsOf: "null".utf8)
        case .bool(let flag): bytes.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let number):
            if number.rounded() == number, abs(number) < 9.0e15 {
                JSONBytes.appendInteger(Int64(number), to: &bytes)
            } else {
                guard number.isFinite else { return false }
                var text = number.description
                if text.hasSuffix(".0") { text.removeLast(2) }
                bytes.append(contentsOf: text.utf8)
            }
        case .string(let text): JSONBytes.appendString(text, to: &bytes)
        case .array(let items):
            bytes.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                guard writeCanonical(item, to: &bytes) else { return false }
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (index, member) in members.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                JSONBytes.appendString(member.key, to: &bytes)
                bytes.append(UInt8(ascii: ":"))
                guard writeCanonical(member.value, to: &bytes) else { return false }
            }
            bytes.append(UInt8(ascii: "}"))
        }
        return true
    }
}
