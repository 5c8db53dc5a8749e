import Foundation

/// Finds links in text the way phones and mail clients make them tappable, including the tricks
/// used to smuggle one past a reader or a filter.
///
/// Deliberately eager: a bank would rather have a send refused (with a clear 422 naming the link)
/// than have a customer tap something it did not vet. So any dotted name whose last label is
/// alphabetic counts as a domain (new gTLDs appear every year), and every URI scheme a device acts
/// on counts as a link.
///
/// Handled: URLs with any `scheme://`, opaque schemes (`mailto:`, `tel:`, `javascript:`, `data:` ...),
/// bare domains with or without a path or port, e-mail addresses, IPv4 literals, user info
/// (`https://acme.example@evil.example` goes to evil.example), percent-encoding in the host,
/// backslashes, full-width and ideographic dots (after NFKC), IDN (compared as Punycode, so look-alike
/// letters from another script never match), trailing dots, upper case, and invisible characters
/// (zero-width, bidi controls, soft hyphen) inside a link.
enum LinkDetector {
    /// Schemes a device acts on without `//` (a `tel:` link in a "fraud alert" is a vishing lure).
    static let opaqueSchemes: Set<String> = [
        "mailto", "tel", "sms", "smsto", "mms", "facetime", "facetime-audio", "callto", "skype", "javascript", "vbscript", "data",
        "file", "intent", "market", "itms", "itms-apps", "itms-services", "geo", "maps", "whatsapp", "tg", "viber", "fb", "blob",
        "about", "chrome", "ms-settings", "shortcuts", "x-apple-data-detectors",
    ]

    static func links(in text: String) -> [DetectedLink] {
        tokens(of: normalize(text)).compactMap(link(in:))
    }

    /// NFKC turns full-width and other compatibility forms into plain ones (`ｅｖｉｌ．ｅｘａｍｐｌｅ`);
    /// the ideographic full stops that IDNA treats as dots become dots.
    static func normalize(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        for scalar in text.precomposedStringWithCompatibilityMapping.unicodeScalars {
            switch scalar.value {
            case 0x3002, 0xFF0E, 0xFF61, 0xFE52, 0x2024: result.append(".")
            case 0xFF20, 0xFE6B: result.append("@")
            case 0xFF0F, 0x2215, 0x2044: result.append("/")
            default: result.append(scalar)
            }
        }
        return String(result)
    }

    /// Characters that render as nothing but can split or reorder a link.
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B...0x180E, 0x200B...0x200F, 0x202A...0x202E, 0x2060...0x206F,
            0x3164, 0xFE00...0xFE0F, 0xFEFF, 0xFFA0, 0xE0000...0xE007F:
            return true
        default:
            return false
        }
    }

    private static let separators: Set<Unicode.Scalar> = ["<", ">", "\"", "'", "`", "(", ")", "{", "}", "|", "^", ",", ";", "*"]

    private static func tokens(of text: String) -> [Substring.UnicodeScalarView] {
        text.unicodeScalars.split { $0.properties.isWhitespace || separators.contains($0) || ($0.properties.generalCategory == .control) }
    }

    private static let leadingTrim: Set<Unicode.Scalar> = [".", ":", "!", "?", "_", "~", "-", "/", "\\", "¿", "¡", "["]
    private static let trailingTrim: Set<Unicode.Scalar> = [".", ":", "!", "?", "_", "~", "-", "…"]

    private static func link(in raw: Substring.UnicodeScalarView) -> DetectedLink? {
        var scalars = raw
        while let first = scalars.first, leadingTrim.contains(first) || isInvisible(first) { scalars.removeFirst() }
        while let last = scalars.last, trailingTrim.contains(last) || isInvisible(last) || (last == "]" && !scalars.contains("[")) {
            scalars.removeLast()
        }
        let visible = String(String.UnicodeScalarView(scalars.filter { !isInvisible($0) }))
        let hidden = scalars.contains(where: isInvisible)
        guard !visible.isEmpty, let host = host(of: visible) else { return nil }
        return DetectedLink(text: visible, host: host, hasHiddenCharacters: hidden)
    }

    /// The host of `token` if it is a link (`.some(nil)` for a link without a host), or nil if it is not one.
    private static func host(of token: String) -> String??  {
        let lower = token.lowercased()
        if let colon = lower.firstIndex(of: ":"), isScheme(lower[..<colon]) {
            let scheme = String(lower[..<colon])
            let rest = lower[lower.index(after: colon)...].replacingOccurrences(of: "\\", with: "/")
            if rest.hasPrefix("//") {
                let authority = rest.dropFirst(2).prefix { !"/?#".contains($0) }
                return .some(domain(fromAuthority: authority))
            }
            if opaqueSchemes.contains(scheme), !rest.isEmpty {
                if scheme == "mailto", let at = rest.lastIndex(of: "@") {
                    return .some(domain(fromAuthority: rest[rest.index(after: at)...].prefix { !"?#/".contains($0) }))
                }
                return .some(nil)
            }
        }
        let candidate = lower.replacingOccurrences(of: "\\", with: "/").prefix { !"/?#".contains($0) }
        guard (candidate.removingPercentEncoding ?? String(candidate)).contains(".") else { return nil }
        guard let host = domain(fromAuthority: candidate, requireDomainShape: true) else { return nil }
        return .some(host)
    }

    private static func isScheme(_ text: Substring) -> Bool {
        guard let first = text.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic, text.count <= 32 else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "+.-".unicodeScalars.contains($0)) }
    }

    /// The normalized host of `user:pass@host:port`; with `requireDomainShape`, nil unless it looks
    /// like a domain name or an IPv4 address (bare text, where most dotted words are not links).
    private static func domain(fromAuthority authority: Substring, requireDomainShape: Bool = false) -> String? {
        let decoded = String(authority).removingPercentEncoding ?? String(authority)
        var host = Substring(decoded)
        if let at = host.lastIndex(of: "@") { host = host[host.index(after: at)...] }
        if host.hasPrefix("[") {
            guard let end = host.firstIndex(of: "]") else { return nil }
            return String(host[...end])
        }
        if let colon = host.lastIndex(of: ":") {
            let port = host[host.index(after: colon)...]
            if requireDomainShape, !port.allSatisfy(\.isASCII) || !port.allSatisfy(\.isNumber) { return nil }
            host = host[..<colon]
        }
        while host.hasSuffix(".") { host = host.dropLast() }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        if requireDomainShape {
            guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" } }) else { return nil }
            let top = labels.last!
            let isIPv4 = labels.count == 4 && labels.allSatisfy { $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) && $0.count <= 3 }
            let isTopLevel = top.hasPrefix("xn--") || (top.count >= 2 && top.allSatisfy(\.isLetter))
            guard isIPv4 || isTopLevel else { return nil }
        }
        guard !host.isEmpty else { return nil }
        return labels.map { Punycode.asciiLabel(String($0)) }.joined(separator: ".")
    }
}
