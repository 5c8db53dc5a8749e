import HeraldCore
import Testing

@Suite("Link policy")
struct LinkPolicyTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var text: String
        /// The refused links, as the customer would see them; empty when the text passes.
        var refused: [String]
        var testDescription: String { text.debugDescription }
    }

    /// The app allows acme.example (and its subdomains) and bücher.example.
    static let policy = try! LinkPolicy(allowedDomains: ["acme.example", "BÜCHER.example."])

    static let cases: [Case] = [
        // Plain text without links passes.
        Case(text: "Your card ending 1234 was charged $12.50 at 10:30.", refused: []),
        Case(text: "e.g. the U.S. office, open 9 a.m. to 5 p.m.", refused: []),
        Case(text: "Version 2.0 of the app, ratio 3:1.", refused: []),
        Case(text: "Re: your statement. Thanks!", refused: []),
        Case(text: "Call us on +1 555 0100.", refused: []),
        // Allowed domains, in the forms a business writes them.
        Case(text: "Log in at https://acme.example/login", refused: []),
        Case(text: "Log in at acme.example", refused: []),
        Case(text: "Log in at ACME.EXAMPLE/Login.", refused: []),
        Case(text: "See https://www.acme.example:443/help?x=1#top", refused: []),
        Case(text: "See https://acme.example./login", refused: []),
        Case(text: "Write to help@acme.example.", refused: []),
        Case(text: "mailto:help@support.acme.example", refused: []),
        Case(text: "(see acme.example/faq)", refused: []),
        Case(text: "Buy at bücher.example today", refused: []),
        Case(text: "Buy at xn--bcher-kva.example today", refused: []),
        Case(text: "Visit acme.example, then relax.", refused: []),
        // Bare domains and URLs elsewhere.
        Case(text: "Verify at acme-bank.example/login now", refused: ["acme-bank.example/login"]),
        Case(text: "https://evil.example", refused: ["https://evil.example"]),
        Case(text: "HTTPS://EVIL.EXAMPLE/LOGIN", refused: ["HTTPS://EVIL.EXAMPLE/LOGIN"]),
        Case(text: "go to evil.example:8443/x", refused: ["evil.example:8443/x"]),
        Case(text: "www.evil.example", refused: ["www.evil.example"]),
        Case(text: "//evil.example/path", refused: ["evil.example/path"]),
        Case(text: "ftp://files.evil.example/a", refused: ["ftp://files.evil.example/a"]),
        Case(text: "Write to help@evil.example", refused: ["help@evil.example"]),
        Case(text: "http://192.168.1.10/login", refused: ["http://192.168.1.10/login"]),
        Case(text: "10.0.0.1/admin", refused: ["10.0.0.1/admin"]),
        Case(text: "http://[::1]:8080/", refused: ["http://[::1]:8080/"]),
        // Look-alikes of the allowed domain.
        Case(text: "acme.example.evil.example/login", refused: ["acme.example.evil.example/login"]),
        Case(text: "evilacme.example", refused: ["evilacme.example"]),
        Case(text: "https://acme.example@evil.example/login", refused: ["https://acme.example@evil.example/login"]),
        Case(text: "https://user:pw@evil.example", refused: ["https://user:pw@evil.example"]),
        Case(text: "https://evil.example#@acme.example", refused: ["https://evil.example#@acme.example"]),
        Case(text: "https://evil.example\\@acme.example", refused: ["https://evil.example\\@acme.example"]),
        Case(text: "https://%65vil.example/", refused: ["https://%65vil.example/"]),
        Case(text: "evil%2Eexample/login", refused: ["evil%2Eexample/login"]),
        Case(text: "https://аcme.example/login", refused: ["https://аcme.example/login"]),  // Cyrillic а
        Case(text: "xn--cme-8cd.example", refused: ["xn--cme-8cd.example"]),
        Case(text: "acmе.example", refused: ["acmе.example"]),  // Cyrillic е in the label
        Case(text: "ｅｖｉｌ．ｅｘａｍｐｌｅ", refused: ["evil.example"]),  // full width
        Case(text: "evil。example/login", refused: ["evil.example/login"]),  // ideographic full stop
        Case(text: "https:\\\\evil.example", refused: ["https:\\\\evil.example"]),
        // Hidden characters inside a link, even around an allowed domain.
        Case(text: "ev\u{200B}il.example", refused: ["evil.example"]),
        Case(text: "acme.exa\u{200D}mple/login", refused: ["acme.example/login"]),
        Case(text: "\u{202E}elpmaxe.live", refused: ["elpmaxe.live"]),
        Case(text: "acme\u{00AD}.example", refused: ["acme.example"]),
        Case(text: "evil\u{2060}.example", refused: ["evil.example"]),
        // Schemes with no host are never allowed.
        Case(text: "Call tel:+15550100 now", refused: ["tel:+15550100"]),
        Case(text: "javascript:alert(1)", refused: ["javascript:alert"]),
        Case(text: "data:text/html;base64,PHNjcmlwdD4=", refused: ["data:text/html"]),
        Case(text: "sms:+15550100?body=hi", refused: ["sms:+15550100?body=hi"]),
        Case(text: "intent://scan/#Intent;scheme=zxing;end", refused: ["intent://scan/#Intent"]),
        // Markup that hides the real target behind allowed-looking text.
        Case(text: "[acme.example](https://evil.example)", refused: ["https://evil.example"]),
        Case(text: "<a href=\"https://evil.example\">acme.example</a>", refused: ["https://evil.example"]),
        Case(text: "acme.example and evil.example and bad.example", refused: ["evil.example", "bad.example"]),
        // A domain inside a token, after a word a linkifier ends at (security review H4: each passed before).
        Case(text: "Visit:evil.example", refused: ["evil.example"]),
        Case(text: "Login:acme-bank-support.com/verify", refused: ["acme-bank-support.com"]),
        Case(text: "https:evil.example", refused: ["evil.example"]),
        Case(text: "http:/evil.example/x", refused: ["evil.example"]),
        Case(text: "“evil.example”", refused: ["evil.example"]),
        Case(text: "‘evil.example’", refused: ["evil.example"]),
        Case(text: "«evil.example»", refused: ["evil.example"]),
        Case(text: "「evil.example」", refused: ["evil.example"]),
        Case(text: "See evil.example’s page", refused: ["evil.example"]),
        Case(text: "Merchant “acme-bank-help.com” charged you", refused: ["acme-bank-help.com"]),
        Case(text: "Refund:acme-help.com", refused: ["acme-help.com"]),
        Case(text: "acme.example!evil.example", refused: ["evil.example"]),
        Case(text: "evil·example", refused: ["evil.example"]),  // a middle dot reads as a dot
        Case(text: "https://acme.example:evil.example/x", refused: ["evil.example"]),
        Case(text: "acme.example—evil.example", refused: ["evil.example"]),  // em dash
        // What follows an allowed host is its path, as on a phone, up to where a linkifier ends the link.
        Case(text: "acme.example/statement.pdf", refused: []),
        Case(text: "Card acme.example/cards—call us", refused: []),
        Case(text: "https://acme.example/help?a=1&b=%41#top", refused: []),
        // A percent-escaped capital in the host is the letter a browser goes to (found by libFuzzer).
        Case(text: "https://%41CME.example/login", refused: []),
        Case(text: "https://%45VIL.example/login", refused: ["https://%45VIL.example/login"]),
        Case(text: "https://acme.example/help\\evil-bank.example", refused: ["evil-bank.example"]),
        Case(text: "acme.example/%evil-bank.example", refused: ["evil-bank.example"]),
        Case(text: "acme.example/a[evil-bank.example]", refused: ["evil-bank.example"]),
        // Symbols registries accept in labels; currency signs end a domain.
        Case(text: "Visit i❤.ws now", refused: ["i❤.ws"]),
        Case(text: "💩.la", refused: ["💩.la"]),
        Case(text: "You paid 12,50€.Thanks", refused: []),
        // Schemes a device acts on without a host or a dot.
        Case(text: "sip:fraud-desk", refused: ["sip:fraud-desk"]),
        Case(text: "bitcoin:1BoatSLRHtKNngkdXEeobR76b53LETtpyT", refused: ["bitcoin:1BoatSLRHtKNngkdXEeobR76b53LETtpyT"]),
    ]

    @Test("Refuses exactly the links outside the allowed domains", arguments: cases)
    func table(_ testCase: Case) {
        #expect(Self.policy.refusedLinks(in: testCase.text).map(\.text) == testCase.refused)
    }

    @Test("The table covers at least 40 cases, allowed and refused")
    func tableSize() {
        #expect(Self.cases.count >= 40)
        #expect(Self.cases.filter(\.refused.isEmpty).count >= 15)
        #expect(Self.cases.filter { !$0.refused.isEmpty }.count >= 25)
    }

    @Test("By default no domain is allowed")
    func denyAllByDefault() {
        #expect(LinkPolicy.denyAll.refusedLinks(in: "see acme.example").map(\.text) == ["acme.example"])
    }

    @Test("Allow-list entries must be plain domain names, and every bad one is named")
    func allowListValidation() throws {
        #expect(throws: HeraldError.invalid([
            FieldProblem(field: "linkPolicy.allowedDomains[1]", reason: .invalidValue, detail: "a domain name such as acme.example"),
            FieldProblem(field: "linkPolicy.allowedDomains[2]", reason: .invalidValue, detail: "a domain name such as acme.example"),
        ])) {
            try LinkPolicy(allowedDomains: ["acme.example", "https://acme.example", "*.acme.example"])
        }
        #expect(try LinkPolicy(allowedDomains: ["Bücher.Example"]).allowedDomains == ["xn--bcher-kva.example"])
    }

    @Test("A refusal names the field and lists the links")
    func problemsNameTheField() {
        let problems = Self.policy.problems(in: [("content.title", "Alert"), ("content.body", "Go to evil.example now")])

        #expect(problems.map(\.field) == ["content.body"])
        #expect(problems.first?.reason == .linkNotAllowed)
        #expect(problems.first?.detail?.contains("evil.example") == true)
    }
}
