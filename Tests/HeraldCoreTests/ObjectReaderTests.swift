import Foundation
import HeraldCore
import Testing

@Suite("Reading request bodies field by field")
struct ObjectReaderTests {
    private func problems(_ body: String, _ parse: (Data) throws -> Void) -> [FieldProblem] {
        do {
            try parse(Data(body.utf8))
            return []
        } catch HeraldError.invalid(let problems) {
            return problems
        } catch {
            return [FieldProblem(field: "<other>", reason: FieldProblem.Reason(rawValue: "\(error)"))]
        }
    }

    @Test("Every bad field of a channel is reported at once, unknown fields included")
    func reportsEveryBadField() {
        let found = problems(#"{"type": "dm", "members": ["ana", 7, "bad id!"], "colour": "red"}"#) { _ = try NewChannel(body: $0) }

        #expect(found.map(\.field) == ["type", "members[1]", "members[2]", "colour"])
        #expect(found.map(\.reason) == [.invalidValue, .wrongType, .invalidIdentifier, .unknownField])
    }

    @Test("A message longer than 10,000 characters is too long; 10,000 is fine")
    func messageTextLimit() throws {
        let exact = String(repeating: "é", count: Limits.messageTextCharacters)
        #expect(try NewMessage(body: Data(#"{"text": "\#(exact)"}"#.utf8), allowsSender: false).content.text.count == 10_000)

        let found = problems(#"{"text": "\#(exact)x"}"#) { _ = try NewMessage(body: $0, allowsSender: false) }
        #expect(found == [FieldProblem(field: "text", reason: .tooLong, detail: "at most 10000 characters")])
    }

    @Test("Message data larger than 16 KiB of JSON is refused")
    func messageDataLimit() {
        let big = String(repeating: "a", count: Limits.messageDataBytes)
        let found = problems(#"{"text": "hi", "data": {"blob": "\#(big)"}}"#) { _ = try NewMessage(body: $0, allowsSender: false) }

        #expect(found.map(\.reason) == [.tooLarge])
    }

    @Test("A client may not name a sender; the platform may")
    func senderOnlyForPlatform() throws {
        let body = Data(#"{"text": "hi", "sender": "ana"}"#.utf8)

        #expect(try NewMessage(body: body, allowsSender: true).sender == UserID(rawValue: "ana"))
        #expect(problems(String(decoding: body, as: UTF8.self)) { _ = try NewMessage(body: $0, allowsSender: false) }.map(\.field) == ["sender"])
    }

    @Test("A message needs text or data")
    func emptyMessage() {
        #expect(problems("{}") { _ = try NewMessage(body: $0, allowsSender: false) }.map(\.reason) == [.required])
        #expect(problems(#"{"text": ""}"#) { _ = try NewMessage(body: $0, allowsSender: false) }.map(\.reason) == [.required])
    }

    @Test("Broken JSON, bad UTF-8 and non-objects are malformed, not invalid")
    func malformedBodies() {
        for body in [Data("{bad".utf8), Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D]), Data("[1,2]".utf8), Data("\"text\"".utf8)] {
            #expect(throws: HeraldError.self) { try NewMessage(body: body, allowsSender: false) }
            do {
                _ = try NewMessage(body: body, allowsSender: false)
            } catch {
                guard case .malformed = error else {
                    Issue.record("expected malformed, got \(error)")
                    continue
                }
            }
        }
    }

    @Test("A direct channel has exactly two distinct members and no name")
    func directChannelShape() {
        #expect(problems(#"{"type": "direct", "members": ["a", "b", "c"]}"#) { _ = try NewChannel(body: $0) }.map(\.field) == ["members"])
        #expect(problems(#"{"type": "direct", "members": ["a", "a"]}"#) { _ = try NewChannel(body: $0) }.map(\.reason).contains(.duplicate))
        #expect(problems(#"{"type": "direct", "members": ["a", "b"], "name": "x"}"#) { _ = try NewChannel(body: $0) }.map(\.field) == ["name"])
    }

    @Test("User profiles check locale and time zone")
    func userProfile() throws {
        let profile = try UserProfile(body: Data(#"{"name": "Ana", "locale": "pt-BR", "timezone": "Europe/Lisbon", "metadata": {"tier": "gold"}}"#.utf8))
        #expect(profile.metadata["tier"] == .string("gold"))

        let found = problems(#"{"locale": "not a locale", "timezone": "Mars/Base"}"#) { _ = try UserProfile(body: $0) }
        #expect(found.map(\.field) == ["locale", "timezone"])
    }

    @Test("History queries reject negative or oversized values")
    func historyQuery() throws {
        #expect(try HistoryQuery(after: "5", before: nil, limit: "10") == HistoryQuery(after: 5, limit: 10))
        #expect(throws: HeraldError.self) { try HistoryQuery(after: "-1", before: nil, limit: nil) }
        #expect(throws: HeraldError.self) { try HistoryQuery(after: nil, before: nil, limit: "1000") }
        #expect(throws: HeraldError.self) { try HistoryQuery(after: "abc", before: nil, limit: nil) }
    }
}
