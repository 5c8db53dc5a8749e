#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who is on the other end, as far as limits go: an IPv4 address, or the /64 of an IPv6 address (one
/// customer line gets a whole /64, so counting single IPv6 addresses would let one attacker pose as
/// 2^64 clients).
public struct ClientAddress: Hashable, Sendable, CustomStringConvertible {
    /// `203.0.113.7`, or `2001:db8:1:2::/64`.
    public let description: String

    /// The address in `text` (an IPv4 or IPv6 literal, optionally in brackets, optionally with a port:
    /// `203.0.113.7:5678`, `[2001:db8::1]:443`), or nil when it is not one.
    public init?(_ text: some StringProtocol) {
        var literal = text.trimmingWhitespace()
        if literal.hasPrefix("["), let end = literal.firstIndex(of: "]") {
            literal = String(literal[literal.index(after: literal.startIndex)..<end])
        } else if literal.filter({ $0 == ":" }).count == 1, let colon = literal.firstIndex(of: ":") {
            literal = String(literal[..<colon])
        }
        guard !literal.isEmpty, literal.utf8.count <= 64 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, literal, &v4) == 1 {
            description = literal
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, literal, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is that IPv4 client.
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            description = bytes[12..<16].map(String.init).joined(separator: ".")
            return
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        description = groups.joined(separator: ":") + "::/64"
    }

    /// The client of a request: the last address in `forwarded` (the value of the header the operator's
    /// proxy sets, such as `X-Forwarded-For`; the last entry is the one the proxy appended, the only
    /// one a client cannot forge), else the peer's address. A forwarded value that is not an address
    /// falls back to the peer: garbage is never trusted as a distinct client.
    public static func of(peer: String?, forwarded: String?) -> ClientAddress {
        if let forwarded, let last = forwarded.split(separator: ",").last, let address = ClientAddress(last) { return address }
        return peer.flatMap { ClientAddress($0) } ?? .unknown
    }

    /// A peer without an IP address (a Unix socket, a test).
    public static let unknown = ClientAddress(description: "unknown")

    private init(description: String) {
        self.description = description
    }
}

extension StringProtocol {
    /// Without the spaces and tabs around it, over the UTF-8 bytes (a reversed walk of `Character`s
    /// showed in the profile of every connect).
    fileprivate func trimmingWhitespace() -> String {
        let bytes = Array(utf8)
        func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = bytes.firstIndex(where: { !isBlank($0) }), let last = bytes.lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
