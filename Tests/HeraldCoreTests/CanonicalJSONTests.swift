import Foundation
import HeraldCore
import PropertyBased
import Testing

/// RFC 8785 (JCS), which a device and the server both hash for a step-up `inputHash`.
@Suite("Canonical JSON (RFC 8785)")
struct CanonicalJSONTests {
    /// ECMAScript number serialization, from RFC 8785 appendix B and ECMA-262's examples.
    @Test(
        "Numbers are written as ECMAScript writes them",
        arguments: [
            (0.0, "0"), (-0.0, "0"), (1.0, "1"), (-1.0, "-1"), (4.50, "4.5"), (2e-3, "0.002"), (0.000001, "0.000001"), (1e-7, "1e-7"),
            (1e21, "1e+21"), (1e20, "100000000000000000000"), (1e30, "1e+30"), (333333333.33333329, "333333333.3333333"), (123456789.0, "123456789"),
            (1.5e-10, "1.5e-10"), (9007199254740992.0, "9007199254740992"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.1, "0.1"), (100.0, "100"), (12345.678, "12345.678"),
        ])
    func numbers(_ value: Double, _ expected: String) {
        #expect(String(decoding: CanonicalJSON.data(.number(value)), as: UTF8.self) == expected)
    }

    @Test("Members are sorted by UTF-16 code units and strings escape only what JSON requires")
    func objectsAndStrings() {
        let value = JSONValue.object([
            "b": .string("line\nbreak \"quoted\" \\ /slash é 😀 \u{1F}"), "a": .array([.bool(true), .null, .number(1)]), "\u{20AC}": .number(2), "\u{1F600}": .number(3), "\u{FB03}": .number(4),
        ])

        let text = String(decoding: CanonicalJSON.data(value), as: UTF8.self)

        // As in RFC 8785's example: "😀" (U+1F600, surrogates D83D DE00) sorts before "ﬃ" (U+FB03) by UTF-16
        // code units, though not by scalar values.
        #expect(text == #"{"a":[true,null,1],"b":"line\nbreak \"quoted\" \\ /slash é 😀 \u001f","€":2,"😀":3,"ﬃ":4}"#)
    }

    @Test("Any value reads back equal from its canonical form, and canonicalising twice changes nothing")
    func roundTrip() async {
        let leaf = Gen.oneOf(
            Gen.int(in: -1_000_000...1_000_000).map { JSONValue.number(Double($0)) }.eraseToAnySequence(),
            Gen.double(in: -1e25...1e25).map { JSONValue.number($0) }.eraseToAnySequence(),
            Gen.letterOrNumber.string(of: 0...8).map { JSONValue.string($0) }.eraseToAnySequence(),
            Gen.element(of: ["\n", "\"", "\\", "é", "😀", "\u{01}", "€"]).map { JSONValue.string($0 ?? "") }.eraseToAnySequence())
        let object = Gen.letterOrNumber.string(of: 1...4).array(of: 0...6).map { keys in keys }
        await propertyCheck(count: 500, input: object, leaf.array(of: 6)) { keys, leaves in
            let value = JSONValue.object(Dictionary(zip(keys, leaves), uniquingKeysWith: { first, _ in first }).merging(["list": .array(leaves)]) { first, _ in first })
            let canonical = CanonicalJSON.data(value)
            let parsed = try JSONValue.parse(canonical)
            #expect(parsed == value)
            #expect(CanonicalJSON.data(parsed) == canonical)
        }
    }
}
