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
            let parsed = try MessageRecord.Content(json: Data(content.json))
            #expect(decoded.text == content.text && decoded.data == content.data && decoded.jws == content.jws && decoded.editedBy == content.editedBy)
            #expect(parsed.text == content.text && parsed.data == content.data && parsed.jws == content.jws && parsed.editedBy == content.editedBy)
        }
    }

    static let shapes = [
        #"{"text":"a"}"#, #"{"text":"a","data":null,"jws":null,"editedBy":null}"#, #"{"text":1}"#, #"{}"#, #"[]"#, #"{"text":"a","data":[]}"#,
        #"{"text":"a","data":{"k":1}}"#, #"{"text":"a","jws":2}"#, #"{"text":"a","editedBy":"customer"}"#, #"{"text":"a","editedBy":"business"}"#,
        #"{"text":"a","other":true}"#, #"{"text":null}"#, #"{"text":"a","data":"x"}"#, #"{"text":"a","text":"b"}"#,
        // Deeper than Herald's parser allows (64): stored before requests went through it, it still opens.
        #"{"text":"deep","data":{"k":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}}",
    ]

    @Test("Any content shape, valid or not, is read or refused as JSONDecoder reads or refuses it")
    func sameVerdictAsJSONDecoder() async {
        await propertyCheck(count: 200, input: Gen.element(of: Self.shapes).map { $0 ?? "{}" }) { shape in
            let foundation = try? JSONDecoder().decode(MessageRecord.Content.self, from: Data(shape.utf8))
            let parsed = try? MessageRecord.Content(json: Data(shape.utf8))
            #expect((foundation == nil) == (parsed == nil), "\(shape)")
            #expect(foundation?.text == parsed?.text && foundation?.data == parsed?.data && foundation?.jws == parsed?.jws && foundation?.editedBy == parsed?.editedBy)
        }
    }
}
