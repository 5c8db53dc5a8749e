/// The byte classes of names a business writes (journeys' step ids and event names, paths' segments),
/// checked on UTF-8 bytes so that no Unicode look-alike, combining mark or case folding gets through.
enum NameBytes {
    static func isLowercaseLetter(_ byte: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) }
    static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
    static func isLetter(_ byte: UInt8) -> Bool { isLowercaseLetter(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) }

    /// 1 to `maxBytes` of lower-case letters, digits and `punctuation`, starting with a letter.
    static func isLowercaseName(_ text: String, maxBytes: Int, punctuation: String) -> Bool {
        let allowed = Array(punctuation.utf8)
        guard let first = text.utf8.first, isLowercaseLetter(first), (1...maxBytes).contains(text.utf8.count) else { return false }
        return text.utf8.allSatisfy { isLowercaseLetter($0) || isDigit($0) || allowed.contains($0) }
    }

    /// 1 to `maxBytes` of letters, digits and `_`, starting with a letter (a template variable).
    static func isName(_ text: String, maxBytes: Int) -> Bool {
        guard let first = text.utf8.first, isLetter(first), (1...maxBytes).contains(text.utf8.count) else { return false }
        return text.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    /// 1 to `maxBytes` of letters, digits, `_` and `-`, in any order (a segment of a path).
    static func isSegment<Text: StringProtocol>(_ text: Text, maxBytes: Int) -> Bool {
        (1...maxBytes).contains(text.utf8.count) && text.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }
}
