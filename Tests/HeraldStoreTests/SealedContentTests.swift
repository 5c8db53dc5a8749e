import Foundation
import HeraldCore
import PropertyBased
import Testing

@testable import HeraldStore

/// What a message seals is written by `FrameWriter`, and read back by `JSONDecoder`: the two must agree
/// on every text and data a customer or a business can send, or a stored message would not open.
@Suite("Sealed message content")
struct SealedContentTests {
    static let pieces = ["Hi", " ", "\"", "\\", "/", "\n", "\u{08}", "\u{0C}", "\u{00}", "\u{1F}", "é", "😀", "결제", "\u{2028}", "{}", "t=1"]
    static let text = Gen.element(of: pieces).map { $0 ?? "" }.array(of: 0...12).map { $0.joined() }
    static let leaf = Gen.oneOf(
        Gen.double(in: -1e25...1e25).map { JSONValue.number($0) }.eraseToAnySequence(),
        Gen.int(in: -1_000_000...1_000_000).map { JSONValue.number(Double($0)) }.eraseToAnySequence(),
        text.map { JSONValue.string($0) }.eraseToAnySequence(),
        Gen.element(of: [JSONValue.null, .bool(true), .array([.number(0.5), .object(["k": .string("v")])])]).map { $0 ?? .null }.eraseToAnySequence())

    @Test("Content written as bytes reads back equal with JSONDecoder, whatever its text, data, signature and editor")
    func contentRoundTrips() async {
        await propertyCheck(count: 1_000, input: Self.text, Self.leaf.array(of: 0...4), Self.text, Gen.bool) { text, leaves, jws, byBusiness in
            let data = leaves.isEmpty ? nil : Dictionary(uniqueKeysWithValues: leaves.enumerated().map { ("k\($0.offset)\(text.prefix(1))", $0.element) })
            let content = MessageRecord.Content(text: text, data: data, jws: jws.isEmpty ? nil : jws, editedBy: byBusiness ? .business : nil)
            let decoded = try JSONDecoder().decode(MessageRecord.Content.self, from: Data(content.json))
            #expect(decoded.text == content.text && decoded.data == content.data && decoded.jws == content.jws && decoded.editedBy == content.editedBy)
        }
    }
}
