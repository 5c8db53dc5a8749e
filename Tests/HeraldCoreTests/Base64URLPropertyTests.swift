import Foundation
import HeraldCore
import PropertyBased
import Testing

/// `Data(base64URLEncoded:)` decodes every token, key and signature a client sends. Rewritten byte by
/// byte (issue 19), it must answer exactly what the `replacingOccurrences` version answered, for any
/// text: the round trip of any bytes, and the same nil or bytes for anything else.
@Suite("Base64url decoding, by property")
struct Base64URLPropertyTests {
    /// The version it replaced, kept here as the reference.
    static func reference(_ string: String) -> Data? {
        var base64 = string.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64.append("=") }
        return Data(base64Encoded: base64)
    }

    static let pieces = ["A", "z", "0", "9", "-", "_", "+", "/", "=", "==", " ", ".", "é", "\u{0}", "\n", "QQ", "QUI", "QUJD"]
    static let text = Gen.element(of: pieces).map { $0 ?? "" }.array(of: 0...24).map { $0.joined() }

    @Test("Any bytes come back from their base64url form, padded or not")
    func roundTrip() async {
        await propertyCheck(count: 2_000, input: Gen.int(in: 0...255).array(of: 0...64)) { numbers in
            let bytes = numbers.map { UInt8($0) }
            let encoded = Data(bytes).base64URLEncodedString()
            #expect(Data(base64URLEncoded: encoded) == Data(bytes))
            #expect(Data(base64URLEncoded: Data(bytes).base64EncodedString()) == Data(bytes))
        }
    }

    @Test("Any bytes encode as the replacingOccurrences version encoded them")
    func encodesAsReference() async {
        await propertyCheck(count: 3_000, input: Gen.int(in: 0...255).array(of: 0...96)) { numbers in
            let data = Data(numbers.map { UInt8($0) })
            let reference = data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(data.base64URLEncodedString() == reference)
        }
    }

    @Test("Any text decodes as the reference decodes it")
    func sameAsReference() async {
        await propertyCheck(count: 5_000, input: Self.text) { text in
            #expect(Data(base64URLEncoded: text) == Self.reference(text), "\(text.debugDescription)")
        }
    }
}
