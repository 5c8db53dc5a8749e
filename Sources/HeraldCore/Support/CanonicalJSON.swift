public import Foundation

/// RFC 8785 JSON Canonicalization Scheme (JCS): the one byte form of a JSON value that a device and the
/// server both hash when a step-up signature binds an action's input (`inputHash`).
///
/// Written here because none of Herald's libraries implements RFC 8785 (Foundation's `.sortedKeys`
/// sorts by UTF-8 bytes, escapes `/` and non-BMP characters differently, and formats numbers its own
/// way). The rules: object members sorted by the UTF-16 code units of their names; strings with only
/// `"`, `\` and control characters escaped (`\b \t \n \f \r`, else `\u00xx` in lower case); numbers in
/// ECMAScript's shortest form (`1`, `1.5`, `1e+21`, `1e-7`, never `-0`); no white space.
public enum CanonicalJSON {
    public static func data(_ value: JSONValue) -> Data {
        var writer = FrameWriter()
        write(value, to: &writer)
        return Data(writer.bytes)
    }

    /// Appends the canonical form of `value` (strings through `FrameWriter.string`, the one JSON string
    /// escaper of the wire format).
    static func write(_ value: JSONValue, to writer: inout FrameWriter) {
        switch value {
        case .null: writer.raw("null")
        case .bool(let flag): writer.raw(flag ? "true" : "false")
        case .number(let number): writer.append(format(number))
        case .string(let text): writer.string(text)
        case .array(let items):
            writer.raw("[")
            for (index, item) in items.enumerated() {
                if index > 0 { writer.raw(",") }
                write(item, to: &writer)
            }
            writer.raw("]")
        case .object(let members):
            writer.raw("{")
            for (index, name) in members.keys.sorted(by: { $0.utf16.lexicographicallyPrecedes($1.utf16) }).enumerated() {
                if index > 0 { writer.raw(",") }
                writer.string(name)
                writer.raw(":")
                write(members[name]!, to: &writer)
            }
            writer.raw("}")
        }
    }

    /// ECMAScript's `Number.prototype.toString` for finite values (JSON has no others): Swift's shortest
    /// round-tripping digits, placed as ECMA-262 7.1.12.1 says.
    static func format(_ number: Double) -> String {
        guard number.isFinite else { return "null" }
        if number == 0 { return "0" }
        if number < 0 { return "-" + format(-number) }
        // Shortest digits and exponent from Swift's description ("1.5e-07", "12345.0", "1e+21").
        let text = "\(number)"
        var mantissa = text, exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = String(text[..<e])
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let integral = String(parts[0]), fraction = parts.count > 1 ? String(parts[1]) : ""
        var digits = integral + fraction
        var point = integral.count + exponent  // digits before the decimal point: the value is 0.DIGITS × 10^point
        let leadingZeros = digits.prefix { $0 == "0" }.count
        digits.removeFirst(leadingZeros)
        point -= leadingZeros
        while digits.hasSuffix("0") { digits.removeLast() }
        let k = digits.count, n = point
        if k <= n && n <= 21 { return digits + String(repeating: "0", count: n - k) }
        if 0 < n && n <= 21 { return String(digits.prefix(n)) + "." + String(digits.dropFirst(n)) }
        if -6 < n && n <= 0 { return "0." + String(repeating: "0", count: -n) + digits }
        let exponentText = (n - 1 >= 0 ? "+" : "-") + String(abs(n - 1))
        return k == 1 ? digits + "e" + exponentText : String(digits.prefix(1)) + "." + String(digits.dropFirst()) + "e" + exponentText
    }
}
