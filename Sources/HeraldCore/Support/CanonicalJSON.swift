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
        var output = ""
        write(value, to: &output)
        return Data(output.utf8)
    }

    private static func write(_ value: JSONValue, to output: inout String) {
        switch value {
        case .null: output += "null"
        case .bool(let flag): output += flag ? "true" : "false"
        case .number(let number): output += format(number)
        case .string(let text): writeString(text, to: &output)
        case .array(let items):
            output += "["
            for (index, item) in items.enumerated() {
                if index > 0 { output += "," }
                write(item, to: &output)
            }
            output += "]"
        case .object(let members):
            output += "{"
            for (index, name) in members.keys.sorted(by: { $0.utf16.lexicographicallyPrecedes($1.utf16) }).enumerated() {
                if index > 0 { output += "," }
                writeString(name, to: &output)
                output += ":"
                write(members[name]!, to: &output)
            }
            output += "}"
        }
    }

    private static func writeString(_ text: String, to output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\u{08}": output += "\\b"
            case "\t": output += "\\t"
            case "\n": output += "\\n"
            case "\u{0C}": output += "\\f"
            case "\r": output += "\\r"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
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
