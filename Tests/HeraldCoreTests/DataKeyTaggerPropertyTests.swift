import Foundation
import HeraldCore
import PropertyBased
import Testing

/// `DataKey.Tagger` binds every shared inbox item (issue 20): it must give exactly the tag `tag(_:purpose:)`
/// gives for the fields joined by the separator, for any fields, and differ when a field does.
@Suite("Data key tags, many at a time, by property")
struct DataKeyTaggerPropertyTests {
    static let pieces = ["ana", "ben", "inb_7q84", "app_0", "", "é", "1800000000000", "\u{0}", "de-CH", "x"]
    static let fields = Gen.element(of: pieces).map { $0 ?? "" }.array(of: 0...6).array(of: 1...8).map { parts in parts.map { $0.joined() } }

    @Test("A tagger's tag is the tag of the joined fields; the same tagger gives the same tag again")
    func sameAsJoined() async {
        let key = DataKey.generate()
        let tagger = key.tagger(purpose: "inbox.reference")
        await propertyCheck(count: 2_000, input: Self.fields) { fields in
            let joined = key.tag(Data(fields.joined(separator: "\u{1F}").utf8), purpose: "inbox.reference")
            #expect(tagger.tag(fields, separator: 0x1F) == joined, "\(fields)")
            #expect(tagger.tag(fields, separator: 0x1F) == joined, "a tagger is reusable")
            #expect(key.tagger(purpose: "other").tag(fields, separator: 0x1F) != joined, "another purpose, another tag")
        }
    }

    @Test("Changing any one field changes the tag")
    func fieldChangeChangesTag() async {
        let tagger = DataKey.generate().tagger(purpose: "inbox.reference")
        await propertyCheck(count: 1_000, input: Self.fields) { fields in
            for index in fields.indices {
                var changed = fields
                changed[index] += "!"
                #expect(tagger.tag(changed, separator: 0x1F) != tagger.tag(fields, separator: 0x1F))
            }
        }
    }
}
