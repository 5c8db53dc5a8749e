import Foundation
import HeraldCore
import HeraldTestSupport
import PropertyBased
import Testing

/// `JSONValue.canonicalData()` writes the bytes `JSONEncoder` wrote before it (sorted keys, slashes
/// not escaped): stored idempotency fingerprints, message signatures and audit hashes were made over
/// those bytes, so a single byte of difference would turn every retry into a conflict and every
/// audit chain into a broken one.
@Suite("Canonical JSON bytes")
struct JSONValueCanonicalTests {
    static func encoder(_ value: JSONValue) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)) ?? Data()
    }

    /// Names and strings from the characters where writers differ: escapes, slashes, canonically
    /// equivalent forms that sort differently by bytes and by `String`, characters past the BMP.
    static let pieces = [
        "a", "b", "A", "Z", "_", "0", "9", "10", " ", "\"", "\\", "/", "\u{0}", "\u{1}", "\u{8}", "\t", "\n", "\u{B}", "\u{C}", "\r", "\u{1F}", "\u{7F}",
        "é", "e\u{301}", "f", "ea", "Å", "A\u{30A}", "\u{FB01}", "fi", "\u{2028}", "\u{FFFF}", "\u{10000}", "😀", "Ω", "\u{AC00}", "\u{1100}\u{1161}",
    ]

    static func text(using random: inout Xoshiro) -> String {
        (0..<Int(random.next() % 4)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined()
    }

    static func number(using random: inout Xoshiro) -> Double {
        switch random.next() % 10 {
        case 0: return [0.0, -0.0, 1, -1, 9.0e15, -9.0e15, 8_999_999_999_999_999, 9_007_199_254_740_993, 1e15, 1e16, 1e21, 1e-7, 5e-324, 1.7976931348623157e308][
            Int(random.next() % 14)]
        case 1: return Double(Int64(bitPattern: random.next()) >> Int(random.next() % 64))
        case 2: return Double(Int64(bitPattern: random.next()) >> 8) + 0.5
        case 3: return Double(random.next() % 100_000) / Double([10, 100, 1000, 3, 7][Int(random.next() % 5)])
        default:
            let bits = Double(bitPattern: random.next())
            return bits.isFinite ? bits : 0.25
        }
    }

    static func value(depth: Int, using random: inout Xoshiro) -> JSONValue {
        switch random.next() % (depth > 3 ? 4 : 6) {
        case 0: return random.next() % 2 == 0 ? .null : .bool(random.next() % 2 == 0)
        case 1: return .number(number(using: &random))
        case 2, 3: return .string(text(using: &random))
        case 4: return .array((0..<Int(random.next() % 4)).map { _ in value(depth: depth + 1, using: &random) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int(random.next() % 6) { members[text(using: &random)] = value(depth: depth + 1, using: &random) }
            return .object(members)
        }
    }

    @Test("Generated values: the same bytes as JSONEncoder, names sorted by their UTF-8 bytes")
    func sameBytesAsEncoder() async {
        await propertyCheck(count: 3_000, input: Gen.uint64()) { seed in
            var random = Xoshiro(seed: seed)
            let value = Self.value(depth: 0, using: &random)
            let ours = value.canonicalData()
            #expect(ours == Self.encoder(value), "seed \(seed): \(String(decoding: ours, as: UTF8.self).debugDescription)")
        }
    }

    @Test("Known forms: integers, -0, shortest doubles, escapes, byte order of equivalent names")
    func knownForms() {
        let cases: [(JSONValue, String)] = [
            (.number(-0.0), "0"), (.number(1e15), "1000000000000000"), (.number(9.0e15), "9000000000000000"), (.number(1e16), "1e+16"), (.number(1.5), "1.5"), (.number(1e-7), "1e-07"),
            (.number(9_007_199_254_740_992), "9007199254740992"),
            (.string("a/\"\\\u{1}\u{B}\u{7F}é"), "\"a/\\\"\\\\\\u0001\\u000b\u{7F}é\""),
            (.object(["f": .null, "e\u{301}": .null, "ea": .null]), "{\"ea\":null,\"e\u{301}\":null,\"f\":null}"),
            (.array([.bool(true), .object([:]), .array([])]), "[true,{},[]]"),
        ]
        for (value, expected) in cases {
            #expect(String(decoding: value.canonicalData(), as: UTF8.self) == expected)
            #expect(value.canonicalData() == Self.encoder(value), "\(expected)")
        }
        #expect(JSONValue.array([.number(.infinity)]).canonicalData().isEmpty)
        #expect(Self.encoder(.array([.number(.nan)])).isEmpty)
    }
}
