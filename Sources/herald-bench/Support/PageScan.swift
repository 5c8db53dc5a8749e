#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
            guard start < bytes.count, bytes[start] == UInt8(ascii: "\""), let base = bytes.baseAddress,
                let quote = memchr(base + start + 1, Int32(UInt8(ascii: "\"")), bytes.count - start - 1)
            else { return nil }
            let end = base.distance(to: UnsafeRawPointer(quote))
            return Substring(decoding: bytes[(start + 1)..<end], as: UTF8.self)
        }
    }

    /// Jumps from colon to colon with `memchr` (vectorized) and compares what precedes each with the
    /// key: the scan runs on the server's two cores, and a byte-by-byte loop here was three quarters of
    /// the benchmark's CPU on 45 KB inbox pages (most of a page is JWS text, which has no colon).
    private static func values<Value>(_ name: String, in body: ByteBuffer, _ read: (UnsafeRawBufferPointer, Int) -> Value?) -> [Value] {
        let key = Array("\"\(name)\"".utf8)
        return body.withUnsafeReadableBytes { bytes in
            var found: [Value] = []
            guard let base = bytes.baseAddress else { return found }
            var index = key.count
            while index < bytes.count, let colon = memchr(base + index, Int32(UInt8(ascii: ":")), bytes.count - index) {
                let at = base.distance(to: UnsafeRawPointer(colon))
                if key.withUnsafeBytes({ memcmp(base + at - key.count, $0.baseAddress!, key.count) }) == 0, let value = read(bytes, at + 1) {
                    found.append(value)
                }
                index = at + 1
            }
            return found
        }
    }
}
