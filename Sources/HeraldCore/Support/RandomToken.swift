public import Foundation

/// Random strings for ids and secrets, from the system's cryptographically secure generator.
public enum RandomToken {
    /// Crockford's base32 alphabet in lower case: no padding, no ambiguous letters, URL-safe.
    public static let base32Alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    private static let alphabetBytes = Array(base32Alphabet.utf8)

    /// Whether `byte` is a character of `base32Alphabet`: a range check, since ids read from the
    /// database are validated on every row (a scan of the alphabet per byte showed in history profiles).
    @inlinable
    public static func isBase32(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "i"), UInt8(ascii: "l"), UInt8(ascii: "o"), UInt8(ascii: "u"): false
        case UInt8(ascii: "a")...UInt8(ascii: "z"): true
        default: false
        }
    }

    /// Eight bytes per draw from the system generator (one `getrandom` each): drawing byte by byte
    /// made a system call per byte, and ids are drawn for every message written.
    public static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var output = [UInt8]()
        output.reserveCapacity(count + 7)
        while output.count < count {
            withUnsafeBytes(of: generator.next()) { output.append(contentsOf: $0) }
        }
        output.removeLast(output.count - count)
        return output
    }

    /// `byteCount` random bytes as base32 (5 bits a character).
    public static func base32(byteCount: Int) -> String { base32(bytes(byteCount)) }

    /// `input` as base32 (5 bits a character, the last padded with zero bits); keeps the bytes' order.
    public static func base32(_ input: [UInt8]) -> String {
        let byteCount = input.count
        var output = [UInt8]()
        output.reserveCapacity((byteCount * 8 + 4) / 5)
        var buffer = 0
        var bits = 0
        for byte in input {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                output.append(alphabetBytes[(buffer >> bits) & 31])
            }
        }
        if bits > 0 { output.append(alphabetBytes[(buffer << (5 - bits)) & 31]) }
        return String(decoding: output, as: UTF8.self)
    }

    /// `byteCount` random bytes as unpadded base64url.
    public static func base64URL(byteCount: Int) -> String {
        Data(bytes(byteCount)).base64URLEncodedString()
    }
}

extension Data {
    /// Unpadded base64url. The standard encoding's bytes are mapped one by one, not through three
    /// `replacingOccurrences` (Foundation's `NSString`): those were 83% of reading a page of signed
    /// inbox items, whose JWS is put together on each read (issue 20).
    public func base64URLEncodedString() -> String {
        var bytes = Array(base64EncodedString().utf8)
        while bytes.last == UInt8(ascii: "=") { bytes.removeLast() }
        for index in bytes.indices {
            switch bytes[index] {
            case UInt8(ascii: "+"): bytes[index] = UInt8(ascii: "-")
            case UInt8(ascii: "/"): bytes[index] = UInt8(ascii: "_")
            default: break
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Unpadded (or padded) base64url; standard base64's `+` and `/` are accepted too. Byte by byte,
    /// not through `replacingOccurrences` (Foundation's `NSString`: a twentieth of a token check).
    public init?(base64URLEncoded string: String) {
        var base64 = Array(string.utf8)
        for index in base64.indices {
            switch base64[index] {
            case UInt8(ascii: "-"): base64[index] = UInt8(ascii: "+")
            case UInt8(ascii: "_"): base64[index] = UInt8(ascii: "/")
            default: break
            }
        }
        while base64.count % 4 != 0 { base64.append(UInt8(ascii: "=")) }
        self.init(base64Encoded: Data(base64))
    }
}
