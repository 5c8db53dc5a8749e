/// Which addresses Herald may send requests to (webhooks, Web Push endpoints): by default none that
/// is loopback, private, link-local, carrier-grade NAT, multicast, reserved, or a cloud metadata
/// service, so a tenant cannot make the server probe its own network (SSRF). The operator lifts it
/// with `--allow-private-targets` (tests, on-premises receivers).
public enum TargetPolicy {
    /// Whether a URL's host is, on its face, loopback or private (an address literal, or `localhost`):
    /// refused when a target is configured, before any name is resolved. Names are checked again,
    /// resolved, before each request.
    public static func isPrivateLiteral(_ host: String) -> Bool {
        let lowered = host.lowercased()
        return isPublic(lowered) == false || lowered == "localhost" || lowered.hasSuffix(".localhost")
    }

    /// Whether `address` (IPv4 dotted or IPv6 text) is public; nil when it is not an IP address.
    public static func isPublic(_ address: String) -> Bool? {
        if let v4 = ipv4(address) { return isPublicIPv4(v4) }
        if let v6 = ipv6(address) { return isPublicIPv6(v6) }
        return nil
    }

    static func ipv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { part -> UInt8? in
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber) else { return nil }
            return UInt8(part)
        }
        return bytes.count == 4 ? bytes : nil
    }

    static func isPublicIPv4(_ b: [UInt8]) -> Bool {
        switch (b[0], b[1]) {
        case (0, _), (10, _), (127, _): return false  // this network, private, loopback
        case (100, 64...127): return false  // carrier-grade NAT
        case (169, 254): return false  // link-local, cloud metadata (169.254.169.254)
        case (172, 16...31), (192, 168): return false  // private
        case (192, 0) where b[2] == 0 || b[2] == 2: return false  // IETF protocol assignments, TEST-NET-1
        case (198, 18...19): return false  // benchmarking
        case (198, 51) where b[2] == 100, (203, 0) where b[2] == 113: return false  // TEST-NET-2, -3
        case (224...255, _): return false  // multicast, reserved, broadcast
        default: return true
        }
    }

    /// Parses IPv6 text (with `::` and an optional embedded IPv4 tail) into 16 bytes.
    static func ipv6(_ text: String) -> [UInt8]? {
        var text = Substring(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if let zone = text.firstIndex(of: "%") { text = text[..<zone] }
        guard text.contains(":") else { return nil }
        var tail: [UInt8] = []
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = ipv4(String(text[text.index(after: lastColon)...])) else { return nil }
            tail = v4
            text = text[...lastColon]
            if text.hasSuffix(":"), !text.hasSuffix("::") { text = text.dropLast() }
        }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            let values = part.split(separator: ":", omittingEmptySubsequences: false).map { $0.count <= 4 ? UInt16($0, radix: 16) : nil }
            return values.contains(where: { $0 == nil }) ? nil : values.map { $0! }
        }
        guard let head = groups(halves[0]), let rest = halves.count == 2 ? groups(halves[1]) : [] else { return nil }
        let needed = 8 - tail.count / 2
        var all: [UInt16]
        if halves.count == 2 {
            guard head.count + rest.count < needed else { return nil }
            all = head + Array(repeating: 0, count: needed - head.count - rest.count) + rest
        } else {
            guard head.count == needed else { return nil }
            all = head
        }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } + tail
    }

    static func isPublicIPv6(_ b: [UInt8]) -> Bool {
        if b[0..<15].allSatisfy({ $0 == 0 }) { return false }  // :: and ::1
        if b[0..<10].allSatisfy({ $0 == 0 }), b[10] == 0xFF, b[11] == 0xFF { return isPublicIPv4(Array(b[12...])) }  // IPv4-mapped
        if b[0] == 0x00, b[1] == 0x64, b[2] == 0xFF, b[3] == 0x9B { return isPublicIPv4(Array(b[12...])) }  // NAT64
        if b[0] & 0xFE == 0xFC { return false }  // unique local
        if b[0] == 0xFE, b[1] & 0xC0 == 0x80 { return false }  // link-local
        if b[0] == 0xFF { return false }  // multicast
        if b[0] == 0x20, b[1] == 0x01, b[2] == 0x0D, b[3] == 0xB8 { return false }  // documentation
        return true
    }
}
