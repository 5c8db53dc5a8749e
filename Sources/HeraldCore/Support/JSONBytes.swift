/// JSON's string and integer forms written as bytes: the one escaper of everything Herald writes by
/// hand (frames through `FrameWriter`, `CanonicalJSON`, `JSONValue.canonicalData()`). Standard library
/// only, so the JSON fuzz target compiles it with the parser.
enum JSONBytes {
    /// A JSON string as RFC 8785 writes it: `"`, `\` and control characters escaped (`\b \t \n \f \r`,
    /// else `\u00xx` in lower case), everything else as its UTF-8 bytes. `JSONEncoder` with
    /// `.withoutEscapingSlashes` writes strings the same way.
    static func appendString(_ text: String, to bytes: inout [UInt8]) {
        func escaped(_ letter: UInt8) {
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(letter)
        }
        bytes.append(UInt8(ascii: "\""))
        // Most strings (ids, plain words) need no escape: copied in one piece.
        var text = text
        let plain = text.withUTF8 { utf8 -> Bool in
            guard !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        if plain {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): escaped(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): escaped(UInt8(ascii: "\\"))
            case 0x08: escaped(UInt8(ascii: "b"))
            case 0x09: escaped(UInt8(ascii: "t"))
            case 0x0A: escaped(UInt8(ascii: "n"))
            case 0x0C: escaped(UInt8(ascii: "f"))
            case 0x0D: escaped(UInt8(ascii: "r"))
            case 0x00..<0x20:
                escaped(UInt8(ascii: "u"))
                bytes.append(UInt8(ascii: "0"))
                bytes.append(UInt8(ascii: "0"))
                bytes.append(hexDigits[Int(byte >> 4)])
                bytes.append(hexDigits[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// `value` in decimal.
    static func appendInteger(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var rest = value.magnitude
        let start = bytes.count
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        bytes[start...].reverse()
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
