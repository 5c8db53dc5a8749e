/// What Foundation's `JSONDecoder` gets wrong, taken out of a text before its reading is compared with
/// Herald's JSON parser: shared by `JSONParserTests` and the libFuzzer target (`scripts/fuzz-json.sh`
/// compiles this file into it), so both judge by the same rules. Standard library only.
public enum JSONOracle {
    /// `text` without the commas JSONDecoder allows before a closing bracket (RFC 8259 does not); string
    /// contents are left as they are.
    public static func removingTrailingCommas(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var kept: [UInt8] = []
        var inString = false
        var escaped = false
        for (offset, byte) in bytes.enumerated() {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: ",") {
                let next = bytes[(offset + 1)...].first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
                if next == UInt8(ascii: "]") || next == UInt8(ascii: "}") { continue }
            }
            kept.append(byte)
        }
        return String(decoding: kept, as: UTF8.self)
    }

    /// `text` with every number whose value is zero written as `0`: JSONDecoder refuses some zeros with an
    /// exponent that RFC 8259 allows (`0e1`, `-0.0e30`, `0.00e+1`, but not `0.0e3`). String contents are
    /// left as they are. For a text the parser read, which is valid JSON.
    /// Walks Unicode scalars, not `Character`s: a quote followed by a combining mark is one `Character`
    /// (`"\u{06EA}` is a single grapheme), which would hide where a string starts.
    public static func writingZerosPlainly(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        var number = ""
        var inString = false
        var escaped = false
        func endNumber() {
            result.append(contentsOf: (isNumberToken(number) && Double(number) == 0 ? "0" : number).unicodeScalars)
            number = ""
        }
        for character in text.unicodeScalars {
            if inString {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { inString = false }
                result.append(character)
            } else if "-+.0123456789eE".unicodeScalars.contains(character) {
                number.unicodeScalars.append(character)
            } else {
                endNumber()
                if character == "\"" { inString = true }
                result.append(character)
            }
        }
        endNumber()
        return String(result)
    }

    /// Whether `token` is a number by RFC 8259's grammar (`00`, `+0` and `.5` are not).
    public static func isNumberToken(_ token: String) -> Bool {
        token.wholeMatch(of: #/-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/#) != nil
    }

    /// How deep arrays and objects nest in `text`, brackets inside strings aside.
    public static func nestingDepth(_ text: String) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in text.utf8 {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") {
                depth += 1
                deepest = max(deepest, depth)
            } else if byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") {
                depth -= 1
            }
        }
        return deepest
    }
}
