import HeraldCore
import PropertyBased
import Testing

/// The detector against generated text: a disallowed domain embedded anywhere a phone's linkifier would
/// still find it is always refused, whatever surrounds it.
@Suite("Link detector properties")
struct LinkDetectorPropertyTests {
    static let policy = try! LinkPolicy(allowedDomains: ["acme-bank.example"])

    /// Characters that end a domain on either side: white space, ASCII and Unicode punctuation, quotes,
    /// brackets and dashes (never a letter, digit, dot or hyphen, which would make it another name, and
    /// never `/ ? # \`, after which a preceding host's path would begin).
    static let boundaries: [String] = [
        " ", "\n", "\t", ":", ";", ",", "!", "*", "|", "^", "~", "_", "=", "+", "&", "$", "@", "'", "\"", "`", "(", ")", "[", "]", "{", "}", "<", ">",
        "“", "”", "‘", "’", "«", "»", "‹", "›", "「", "」", "『", "』", "【", "】", "（", "）", "—", "–", "、", "，", "：", "¡", "¿", "…", "\u{00A0}",
        "\u{3000}", "\u{2028}",
    ]

    /// Pieces of the surrounding text: words, numbers, schemes, allowed domains and their look-alikes.
    /// No `/ ? # \`: after a host, what follows them is that link's path (a phone links
    /// `acme-bank.example/a.b` to the bank), which the table in `LinkPolicyTests` covers.
    static let pieces: [String] = boundaries + [
        "Visit", "Login", "Refund", "https:", "mailto:", "tel:", "sms:", "Visit:", "at", "Card", "1234", "12.50", "e.g.", "U.S.",
        "acme-bank.example", "acme-bank", ".", "-", "ab", "x", "Ωμέγα", "결제", "您好", "😀", "\u{200B}", "\u{202E}",
    ]

    static let text = Gen.element(of: pieces).map { $0 ?? "" }.array(of: 0...12).map { $0.joined() }
    static let boundary = Gen.element(of: boundaries).map { $0 ?? " " }
    /// The domain as written: plain, upper case, with a scheme, full-width dot, ideographic dot, a
    /// zero-width space inside, or percent-escaped letters (capitals among them) in a URL's host.
    static let domain = Gen.element(of: [
        "evil.example", "EVIL.EXAMPLE", "https://evil.example", "evil.example/login", "evil。example", "evil．example", "ev\u{200B}il.example",
        "www.evil.example", "evil.example:8443", "http:/evil.example", "https:evil.example", "https://user@evil.example", "//evil.example",
        "https://%45VIL.example", "https://%65vil.%45xample/x",
    ]).map { $0 ?? "evil.example" }

    @Test("A disallowed domain embedded in any surrounding text and punctuation is always refused")
    func embeddedDomainIsRefused() async {
        await propertyCheck(count: 2_000, input: Self.text, Self.boundary, Self.domain, Self.boundary, Self.text) { before, left, domain, right, after in
            let message = before + left + domain + right + after
            let refused = Self.policy.refusedLinks(in: message)
            #expect(refused.contains { $0.host?.hasSuffix("evil.example") == true }, "not refused: \(message.debugDescription)")
        }
    }

    @Test("Every host found is in the normalized form an allow-list compares: ASCII, lower case, no trailing dot")
    func hostsAreNormalized() async {
        await propertyCheck(count: 1_000, input: Self.text, Self.domain) { text, domain in
            for link in LinkPolicy.links(in: text + " " + domain) {
                guard let host = link.host, !host.hasPrefix("[") else { continue }
                #expect(host.unicodeScalars.allSatisfy { $0.isASCII && !("A"..."Z").contains($0) } && !host.hasSuffix("."), "\(host) in \(text.debugDescription)")
            }
        }
    }
}
