import Foundation
@testable import HeraldCore
import PropertyBased
import Testing

/// The text a customer gets outside the app says there is a message in the app, and its reference;
/// nothing that could be copied into a phishing message (a link, a number to call, a name) gets in.
@Suite("Fallback texts and contact addresses")
struct FallbackTextTests {
    private func read(_ text: String, requiresReference: Bool = true) -> (FallbackText?, [FieldProblem]) {
        var problems: [FieldProblem] = []
        let read = FallbackText.read(text, field: "text", requiresReference: requiresReference, into: &problems)
        return (read, problems)
    }

    @Test("The documented text reads, and renders with the reference")
    func documented() throws {
        let (text, problems) = read("Acme Bank has a secure message for you in the Acme app. Reference {{reference}}.")
        #expect(problems == [])
        #expect(try #require(text).render(reference: "4821") == "Acme Bank has a secure message for you in the Acme app. Reference 4821.")
    }

    @Test("Links, numbers to call, other variables, a missing or repeated reference, control characters are refused", arguments: [
        "Read it at https://acme.example. Reference {{reference}}.",
        "Read it at acme.example. Reference {{reference}}.",
        "Read it at ACME.EXAMPLE/x. Reference {{reference}}.",
        "Call +1 555. Reference {{reference}}.",
        "Call 0800 12345. Reference {{reference}}.",
        "Call (030) 12-34. Reference {{reference}}.",
        "Dear {{name}}. Reference {{reference}}.",
        "Reference {{ reference }}.",
        "Reference {{reference}} and {{reference}}.",
        "There is a message in the app.",
        "Reference {{reference}}.\u{202E}",
        "Reference {{reference}}.\nClick",
        "Open bank{{reference}}.com to read it.",
        "Call 0800 {{reference}} about it.",
        "Ref {{reference}}5.",
    ])
    func refused(text: String) {
        let (read, problems) = read(text)
        #expect(read == nil)
        #expect(!problems.isEmpty)
        #expect(problems.allSatisfy { $0.field == "text" })
    }

    @Test("Generated texts: whatever is accepted renders to a text with no link and no phone number, the reference in it once")
    func generated() async {
        let pieces = ["Acme", " ", "Bank", ".", "app", "message", "12", "3", "+", "-", "(", ")", "/", "@", ":", "www", "com", "de", "{{reference}}", "{{", "}}", "é"]
        await propertyCheck(count: 3_000, input: Gen.int(in: 0...(pieces.count - 1)).array(of: 1...14)) { indices in
            let text = indices.map { pieces[$0] }.joined()
            let (read, _) = read(text)
            guard let read else { return }
            let rendered = read.render(reference: "4821")
            #expect(LinkDetector.links(in: rendered.replacingOccurrences(of: "4821", with: " ")).isEmpty, "\(text)")
            #expect(!FallbackText.holdsPhoneNumber(rendered.replacingOccurrences(of: "4821", with: " ")), "\(text)")
            #expect(rendered.components(separatedBy: "4821").count == 2, "\(text)")
        }
    }

    @Test("Names shown beside the text (sender, sender id) are plain", arguments: [
        ("Acme Bank", true), ("Acme Bank Security", true), ("acme-secure.example", false), ("Call 0800 123456", false), ("Acme <x@y.z>", false),
        ("Acme, Support", false), ("Acme\u{200B}Bank", false),
    ])
    func plainNames(name: String, plain: Bool) {
        #expect(FallbackText.isPlainName(name) == plain)
    }

    @Test("A reference is four digits derived from the item's id, the same for every client")
    func references() {
        let id = InboxItemID(rawValue: "inb_" + String(repeating: "a", count: 26))!
        let reference = InboxItem.reference(of: id)
        #expect(reference.count == 4 && reference.allSatisfy(\.isNumber))
        #expect(reference == InboxItem.reference(of: id))
        // Pinned: docs/openapi.yaml says how it is computed; clients in other languages do the same.
        #expect(reference == "9258")
    }

    @Test("E-mail addresses: dot-atoms at a domain; nothing that could break a command or a header", arguments: [
        ("ana@example.com", true), ("ana.m+bank@mail.example.co.uk", true), ("a@b.c", true),
        ("ana@example", false), ("ana@@example.com", false), ("ana@example.com\r\nRCPT TO:<x@y.z>", false), ("\"ana\"@example.com", false),
        ("ana..m@example.com", false), (".ana@example.com", false), ("ana@-example.com", false), ("ana@[127.0.0.1]", false), ("ana @example.com", false),
        ("anä@example.com", false), ("", false),
    ])
    func emailAddresses(text: String, valid: Bool) {
        #expect((EmailAddress(text) != nil) == valid)
    }

    @Test("Phone numbers: E.164 only", arguments: [
        ("+4915112345678", true), ("+12025550123", true), ("4915112345678", false), ("+0123456789", false), ("+49 151 1234", false), ("+1234567", false),
        ("+1234567890123456", false), ("+49151１２３４５６", false),
    ])
    func phoneNumbers(text: String, valid: Bool) {
        #expect((PhoneNumber(text) != nil) == valid)
    }
}
