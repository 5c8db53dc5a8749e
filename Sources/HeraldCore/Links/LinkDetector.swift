import Foundation

/// Finds links in text the way phones and mail clients make them tappable, including the tricks
/// used to smuggle one past a reader or a filter.
///
/// Deliberately eager: a bank would rather have a send refused (with a clear 422 naming the link)
/// than have a customer tap something it did not vet. So any dotted name whose last label is
/// alphabetic counts as a domain (new gTLDs appear every year), and every URI scheme a device acts
/// on counts as a link.
///
/// Two passes over each token (text between white space, controls and punctuation that is not URL
/// syntax: every Unicode quote and bracket, dashes other than `-`, `、` and the like):
/// 1. the token as a URL: any `scheme://`, opaque schemes (`mailto:`, `tel:`, `javascript:`, `data:` ...),
///    bare domains with or without a path or port, e-mail addresses, IPv4 literals, user info
///    (`https://acme.example@evil.example` goes to evil.example), percent-encoding in the host, backslashes;
/// 2. every run of letters, digits, dots and hyphens inside the token (up to the path of a link the
///    first pass found) that has the shape of a domain, as a linkifier that starts a link after any
///    word boundary would: `Visit:evil.example`, `https:evil.example`, `http:/evil.example/x`,
///    `“evil.example”`, `evil.example’s`.
///
/// Both passes see the text after NFKC (full-width forms) with dot look-alikes made dots (ideographic
/// full stops, which IDNA treats as dots, and middle dots, which a reader takes for one), IDN compared as
/// Punycode (look-alike letters from another script never match), trailing dots removed, upper case
/// folded, and invisible characters (zero-width, bidi controls, soft hyphen) removed but remembered: a
/// link that had one inside is never allowed.
enum LinkDetector {
    /// Schemes a device acts on without `//` (a `tel:` link in a "fraud alert" is a vishing lure).
    static let opaqueSchemes: Set<String> = [
        "mailto", "tel", "sms", "smsto", "mms", "facetime", "facetime-audio", "callto", "skype", "javascript", "vbscript", "data",
        "file", "intent", "market", "itms", "itms-apps", "itms-services", "geo", "maps", "whatsapp", "tg", "viber", "fb", "blob",
        "about", "chrome", "ms-settings", "shortcuts", "x-apple-data-detectors", "sip", "sips", "bitcoin", "ethereum", "magnet", "xmpp", "irc",
        "ircs", "news", "nntp", "webcal", "zoommtg", "msteams", "slack", "signal", "ms-excel", "ms-word", "ms-powerpoint", "vnd.youtube",
    ]

    static func links(in text: String) -> [DetectedLink] {
        tokens(of: normalize(text)).flatMap(links(in:))
    }

    /// Dot, at and slash look-alikes become the ASCII character (ideographic full stops, which IDNA treats
    /// as dots; middle dots, which a reader takes for one), other non-ASCII punctuation becomes a space
    /// before NFKC could turn it into ASCII punctuation (`…` into `...`), and NFKC turns full-width and
    /// other compatibility forms into plain ones (`ｅｖｉｌ．ｅｘａｍｐｌｅ`).
    static func normalize(_ text: String) -> String {
        var mapped = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x3002, 0xFF0E, 0xFF61, 0xFE52, 0x2024, 0x00B7, 0x2027, 0x30FB, 0xFF65, 0x2219, 0x22C5, 0x2E31, 0x0701, 0x0702: mapped.append(".")
            case 0xFF20, 0xFE6B: mapped.append("@")
            case 0xFF0F, 0x2215, 0x2044: mapped.append("/")
            default: mapped.append(isSeparator(scalar) ? " " : scalar)
            }
        }
        return String(mapped).precomposedStringWithCompatibilityMapping
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

    /// Splits where a linkifier would end a link: white space, controls, the ASCII separators above, and
    /// every non-ASCII punctuation mark (`“ ” ‘ ’ « » 「 」 、 — …`). ASCII `[ ]` stay: IPv6 hosts use them.
    static func isSeparator(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.properties.isWhitespace || separators.contains(scalar) { return true }
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: return true
        case .initialPunctuation, .finalPunctuation, .openPunctuation, .closePunctuation, .dashPunctuation, .otherPunctuation, .connectorPunctuation:
            return !scalar.isASCII
        default: return false
        }
    }

    private static func tokens(of text: String) -> [Substring.UnicodeScalarView] {
        text.unicodeScalars.split(whereSeparator: isSeparator)
    }

    private static let leadingTrim: Set<Unicode.Scalar> = [".", ":", "!", "?", "_", "~", "-", "/", "\\", "¿", "¡", "["]
    private static let trailingTrim: Set<Unicode.Scalar> = [".", ":", "!", "?", "_", "~", "-", "…"]

    /// The links of one token: the token read as a URL, then every domain-shaped run inside it that the
    /// URL does not already account for.
    private static func links(in raw: Substring.UnicodeScalarView) -> [DetectedLink] {
        var scalars = raw
        while let first = scalars.first, leadingTrim.contains(first) || isInvisible(first) { scalars.removeFirst() }
        while let last = scalars.last, trailingTrim.contains(last) || isInvisible(last) || (last == "]" && !scalars.contains("[")) {
            scalars.removeLast()
        }
        let visible = String(String.UnicodeScalarView(scalars.filter { !isInvisible($0) }))
        let hidden = scalars.contains(where: isInvisible)
        guard !visible.isEmpty else { return [] }
        var found: [DetectedLink] = []
        var scanned = Substring(visible)
        if let url = url(in: visible) {
            found.append(DetectedLink(text: visible, host: url.host, hasHiddenCharacters: hidden))
            // What follows a well-formed host (its path, query, fragment) belongs to that link, as on a phone,
            // up to the first character a linkifier ends a link at (`\\`, `[`, a bad `%`...), where it starts
            // looking again, and so does the scan. After a malformed host (`https://]x`), the whole token is scanned.
            if let host = url.host, isWellFormed(host) {
                let rest = visible[pathEnd(in: visible, from: url.scanned.endIndex)...]
                scanned = rest.isEmpty ? url.scanned : Substring(url.scanned + " " + rest)
            }
        }
        let decoded = String(scanned).removingPercentEncoding ?? String(scanned)
        for run in domainRuns(in: decoded) {
            guard let host = domain(fromAuthority: Substring(run.lowercased()), requireDomainShape: true), !found.contains(where: { $0.host == host }) else {
                continue
            }
            found.append(DetectedLink(text: String(run), host: host, hasHiddenCharacters: hidden))
        }
        return found
    }

    /// A host a browser would go to on the public network: a bracketed IPv6 literal, or the shape of a
    /// domain name or IPv4 address in ASCII (not `http`, not `]x`).
    private static func isWellFormed(_ host: String) -> Bool {
        if host.hasPrefix("[") { return true }
        let asciiLabels = host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }
        }
        return asciiLabels && domain(fromAuthority: Substring(host), requireDomainShape: true) != nil
    }

    /// Where the path, query and fragment of a link end, from `start` (just after its authority): RFC 3986's
    /// characters, valid percent-escapes and (IRI) non-ASCII letters and digits go on; anything else
    /// (`\\`, `[`, `]`, `{`, `|`, `^`, a `%` without two hex digits, a symbol) ends it, as Android's
    /// linkifier ends a link there.
    private static func pathEnd(in token: String, from start: String.Index) -> String.Index {
        var index = start
        while index < token.endIndex {
            let character = token[index]
            if character == "%" {
                let escape = token[token.index(after: index)...].prefix(2)
                guard escape.count == 2, escape.allSatisfy(\.isHexDigit) else { return index }
                index = escape.endIndex
                continue
            }
            let goesOn =
                character.isASCII
                ? (character.isLetter || character.isNumber || "-._~!$&'()*+,;=:@/?#".contains(character))
                : (character.isLetter || character.isNumber)
            guard goesOn else { return index }
            index = token.index(after: index)
        }
        return index
    }

    /// A character a label may hold besides ASCII letters, digits and `-`: any letter or digit, and the
    /// symbols and marks registries accept in IDN labels (`❤`, `💩`: `i❤.ws` is a real, tappable domain).
    /// Not currency signs or other punctuation, which end a domain (`12,50€.Thanks` is no link).
    static func isLabelCharacter(_ character: Character) -> Bool {
        if character.isLetter || character.isNumber || character == "-" { return true }
        guard !character.isASCII else { return false }
        return character.unicodeScalars.allSatisfy { scalar in
            switch scalar.properties.generalCategory {
            case .otherSymbol, .nonspacingMark, .spacingMark, .enclosingMark, .format: true
            default: false
            }
        }
    }

    /// Maximal runs of letters, digits, dots and hyphens, cut where two dots make an empty label
    /// (`Card...evil.example`), without leading dots or hyphens and trailing hyphens; only those with a dot.
    private static func domainRuns(in text: String) -> [Substring] {
        text.split { !(isLabelCharacter($0) || $0 == ".") }.flatMap { run in
            run.split(separator: "..").compactMap { piece -> Substring? in
                let trimmed = piece.drop { $0 == "." || $0 == "-" }
                guard let end = trimmed.lastIndex(where: { $0 != "-" }) else { return nil }
                let candidate = trimmed[...end]
                return candidate.contains(".") ? candidate : nil
            }
        }
    }

    /// The token as a URL: its host (nil for a link without one, `tel:`) and the part of the token up to
    /// the end of its authority, where a domain-shaped run is still a host of its own; nil if it is not a URL.
    private static func url(in token: String) -> (host: String?, scanned: Substring)? {
        let lower = token.lowercased()
        if let colon = lower.firstIndex(of: ":"), isScheme(lower[..<colon]) {
            let scheme = String(lower[..<colon])
            let rest = lower[lower.index(after: colon)...].replacingOccurrences(of: "\\", with: "/")
            if rest.hasPrefix("//") {
                let authority = rest.dropFirst(2).prefix { !"/?#".contains($0) }
                let length = scheme.count + 3 + authority.count
                return (domain(fromAuthority: authority), token.prefix(length))
            }
            if opaqueSchemes.contains(scheme), !rest.isEmpty {
                if scheme == "mailto", let at = rest.lastIndex(of: "@") {
                    return (domain(fromAuthority: rest[rest.index(after: at)...].prefix { !"?#/".contains($0) }), Substring(token))
                }
                return (nil, Substring(token))
            }
        }
        let candidate = lower.replacingOccurrences(of: "\\", with: "/").prefix { !"/?#".contains($0) }
        guard (candidate.removingPercentEncoding ?? String(candidate)).contains(".") else { return nil }
        guard let host = domain(fromAuthority: candidate, requireDomainShape: true) else { return nil }
        return (host, token.prefix(candidate.count))
    }

    private static func isScheme(_ text: Substring) -> Bool {
        guard let first = text.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic, text.count <= 32 else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "+.-".unicodeScalars.contains($0)) }
    }

    /// The normalized host of `user:pass@host:port`; with `requireDomainShape`, nil unless it looks
    /// like a domain name or an IPv4 address (bare text, where most dotted words are not links).
    private static func domain(fromAuthority authority: Substring, requireDomainShape: Bool = false) -> String? {
        // Lower case after decoding: `%41` is an `A`, and a browser goes to `acme.example` for `%41cme.example`.
        let decoded = (String(authority).removingPercentEncoding ?? String(authority)).lowercased()
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
            guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && $0.allSatisfy(isLabelCharacter) }) else { return nil }
            let top = labels.last!
            let isIPv4 = labels.count == 4 && labels.allSatisfy { $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) && $0.count <= 3 }
            let isTopLevel = top.hasPrefix("xn--") || (top.count >= 2 && top.allSatisfy(\.isLetter))
            guard isIPv4 || isTopLevel else { return nil }
        }
        guard !host.isEmpty else { return nil }
        return labels.map { Punycode.asciiLabel(String($0)) }.joined(separator: ".")
    }
}
