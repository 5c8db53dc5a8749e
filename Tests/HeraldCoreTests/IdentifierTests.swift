import Foundation
import HeraldCore
import Testing

@Suite("Identifiers")
struct IdentifierTests {
    @Test("User ids are 1 to 128 characters of [A-Za-z0-9._@:-]", arguments: [
        ("ana", true), ("ana.b_c@d:e-f", true), (String(repeating: "x", count: 128), true),
        ("", false), (String(repeating: "x", count: 129), false), ("a b", false), ("a/b", false), ("é", false), ("a\u{0}", false),
    ])
    func userIDs(raw: String, isValid: Bool) {
        #expect((UserID(rawValue: raw) != nil) == isValid)
    }

    @Test("Generated ids carry their prefix, are well-formed and do not repeat")
    func generatedIDs() {
        let ids = (0..<1000).map { _ in ChannelID.generate() }

        #expect(Set(ids).count == 1000)
        #expect(ids.allSatisfy { $0.rawValue.hasPrefix("ch_") && ChannelID(rawValue: $0.rawValue) != nil })
        #expect(ChannelID(rawValue: "ch_short") == nil)
        #expect(MessageID(rawValue: ids[0].rawValue) == nil)
    }

    @Test("Message ids sort by the millisecond they were made, keep 80 random bits, and survive any clock")
    func timeOrderedMessageIDs() {
        let start = Date(timeIntervalSince1970: 1_796_000_000.123)
        let ids = (0..<500).map { MessageID.generate(at: Date(timeIntervalSince1970: Double(1_796_000_000_123 + $0) / 1000)) }
        let sameMillisecond = (0..<500).map { _ in MessageID.generate(at: start) }

        #expect(ids == ids.sorted(), "a later millisecond sorts after: \(zip(ids, ids.dropFirst()).first { $0 > $1 }.map { "\($0) > \($1)" } ?? "")")
        #expect(Set(sameMillisecond).count == 500, "ids of one millisecond differ in their random bits")
        #expect(Set(sameMillisecond.map { $0.rawValue.prefix(4 + 9) }).count == 1, "and share the time's first 45 bits")
        #expect(ChannelID.generate(at: start).rawValue.prefix(7) != ChannelID.generate(at: start).rawValue.prefix(7), "other kinds stay random")
        for date in [Date(timeIntervalSince1970: -5), Date(timeIntervalSince1970: .nan), Date(timeIntervalSince1970: 1e300), Date.distantFuture] {
            #expect(MessageID(rawValue: MessageID.generate(at: date).rawValue) != nil)
        }
    }

    @Test("The base32 check accepts exactly the alphabet's bytes, and an id with any other byte is refused")
    func base32Check() {
        let alphabet = Set(RandomToken.base32Alphabet.utf8)
        let disagreements = (0...255).map(UInt8.init).filter { RandomToken.isBase32($0) != alphabet.contains($0) }
        let id = MessageID.generate().rawValue

        #expect(disagreements.isEmpty)
        #expect(MessageID(rawValue: id) != nil)
        #expect(MessageID(rawValue: String(id.dropLast()) + "u") == nil)
        #expect(MessageID(rawValue: String(id.dropLast()) + "A") == nil)
    }

    @Test("Wire times are RFC 3339 UTC with milliseconds and round-trip exactly")
    func wireTimes() throws {
        let date = WireTime.truncated(Date(timeIntervalSince1970: 1_795_597_589.1839))

        #expect(WireTime.format(date) == "2026-11-25T09:06:29.183Z")
        #expect(WireTime.parse(WireTime.format(date)) == date)
        #expect(WireTime.format(WireTime.date(milliseconds: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(WireTime.format(WireTime.date(milliseconds: 951_782_400_000)) == "2000-02-29T00:00:00.000Z")
        #expect(WireTime.parse("2026-11-25T10:06:29+01:00") == WireTime.date(milliseconds: 1_795_597_589_000))
        #expect(WireTime.parse("yesterday") == nil)
    }
}

@Suite("Wire times")
struct WireTimeTests {
    @Test("Every millisecond of a second survives format and parse unchanged")
    func everyMillisecondRoundTrips() {
        let base: Int64 = 1_795_597_589_000
        let failures = (0..<1000).filter { offset in
            let date = WireTime.date(milliseconds: base + Int64(offset))
            return WireTime.parse(WireTime.format(date)) != date || WireTime.truncated(date) != date
        }

        #expect(failures.isEmpty)
    }
}
