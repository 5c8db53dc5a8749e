import NIOCore

/// The members of a page the benchmark checks, found by scanning its bytes for `"name":`: every page
/// is checked, on the server's cores, and decoding it whole cost more CPU than the server's page did.
/// The pages scanned are the benchmark's own fixtures, whose texts hold no such key.
enum PageScan {
    /// The integer after each `"name":`, in order.
    static func integers(_ name: String, in body: ByteBuffer) -> [Int64] {
        values(name, in: body) { bytes, start in
            var value: Int64 = 0
            var index = start
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]), value < Int64.max / 20 {
                value = value * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
                index += 1
            }
            return index > start ? value : nil
        }
    }

    /// The string after each `"name":` (without escapes, as the fixtures write them), in order.
    static func strings(_ name: String, in body: ByteBuffer) -> [Substring] {
        values(name, in: body) { bytes, start in
            guard start < bytes.count, bytes[start] == UInt8(ascii: "\""),
                let end = bytes[(start + 1)...].firstIndex(of: UInt8(ascii: "\""))
            else { return nil }
            return Substring(decoding: bytes[(start + 1)..<end], as: UTF8.self)
        }
    }

    private static func values<Value>(_ name: String, in body: ByteBuffer, _ read: (UnsafeRawBufferPointer, Int) -> Value?) -> [Value] {
        let key = Array("\"\(name)\":".utf8)
        return body.withUnsafeReadableBytes { bytes in
            var found: [Value] = []
            var index = 0
            while index + key.count <= bytes.count {
                if bytes[index] == key[0], zip(key.indices, key).allSatisfy({ bytes[index + $0] == $1 }) {
                    if let value = read(bytes, index + key.count) { found.append(value) }
                    index += key.count
                } else {
                    index += 1
                }
            }
            return found
        }
    }
}
