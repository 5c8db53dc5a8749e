import Foundation
import HeraldCore
@testable import HeraldStore
import PropertyBased
import Testing

/// The cluster feed's wire format: typed in Swift, unchanged on the wire (nodes of neighbouring versions
/// hear each other during a rolling upgrade), and always under PostgreSQL's NOTIFY payload limit.
@Suite("Cluster announcements")
struct ClusterAnnouncementTests {
    private let a26 = String(repeating: "z", count: 26)

    @Test("A full announcement of changes with the longest ids stays under the payload limit")
    func fullAnnouncementFits() throws {
        let change = ClusterAnnouncement.Change(
            app: AppID(rawValue: "app_" + a26)!, channel: ChannelID(rawValue: "ch_" + a26)!, message: MessageID(rawValue: "msg_" + a26)!, kind: .updated)
        let announcement = ClusterAnnouncement.messages(
            node: RandomToken.base32(byteCount: 10), batch: RandomToken.base32(byteCount: 10), offset: Int.max,
            changes: Array(repeating: change, count: ClusterAnnouncement.changesPerAnnouncement))

        let payload = try JSONEncoder().encode(announcement)

        #expect(payload.count < PostgresStore.announcementLimit, "\(payload.count) bytes")
        #expect(try JSONDecoder().decode(ClusterAnnouncement.self, from: payload) == announcement)
    }

    @Test("What an earlier version sends is read as it meant it; signals round-trip")
    func wireFormatIsStable() throws {
        let earlier = #"{"n":"node1","k":"m","m":[{"a":"app_\#(a26)","c":"ch_\#(a26)","i":"msg_\#(a26)","x":"d"}],"b":"batch1","o":40}"#
        let decoded = try JSONDecoder().decode(ClusterAnnouncement.self, from: Data(earlier.utf8))
        #expect(
            decoded
                == .messages(
                    node: "node1", batch: "batch1", offset: 40,
                    changes: [.init(app: AppID(rawValue: "app_" + a26)!, channel: ChannelID(rawValue: "ch_" + a26)!, message: MessageID(rawValue: "msg_" + a26)!, kind: .deleted)]))

        let signal = ClusterAnnouncement.signal(node: "node2", app: AppID(rawValue: "app_" + a26)!, users: [UserID(rawValue: "ana")!], signal: .erased)
        let encoded = try JSONEncoder().encode(signal)
        let fields = try JSONDecoder().decode([String: JSONValue].self, from: encoded)
        #expect(fields["k"] == .string("s") && fields["u"] == .array([.string("ana")]))
        guard case .string(let payload)? = fields["p"] else { Issue.record("the signal travels as JSON text in p"); return }
        #expect(try JSONDecoder().decode(ClusterSignal.self, from: Data(payload.utf8)) == .erased)
        #expect(try JSONDecoder().decode(ClusterAnnouncement.self, from: encoded) == signal)
    }

    @Test("An announcement with an unknown kind, a bad id or a change kind this version does not know is unreadable, never guessed at")
    func unreadable() {
        for payload in [
            #"{"n":"n","k":"z"}"#,
            #"{"n":"n","k":"s","a":"not an app","u":[],"p":"{\"erased\":{}}"}"#,
            #"{"n":"n","k":"m","m":[{"a":"app_\#(a26)","c":"ch_\#(a26)","i":"msg_\#(a26)","x":"q"}],"b":"b","o":0}"#,
        ] {
            #expect(throws: (any Error).self, "\(payload)") { try JSONDecoder().decode(ClusterAnnouncement.self, from: Data(payload.utf8)) }
        }
    }

    /// Anyone who may run `pg_notify` on the database can put a payload on the feed: generated payloads
    /// built from the format's own keys and values either decode into an announcement that encodes back
    /// to the same value, or are refused; never a trap.
    @Test("Generated feed payloads: an announcement that round-trips, or an error, never a trap")
    func generatedPayloads() async {
        let keys = ["n", "k", "m", "b", "o", "a", "u", "p", "c", "i", "x", "zz"]
        let scalars = [
            #""m""#, #""s""#, #""c""#, #""u""#, #""d""#, "0", "-1", "40", "9223372036854775808", "1e400", "null", "true", #""""#,
            #""app_\#(a26)""#, #""ch_\#(a26)""#, #""msg_\#(a26)""#, #""ana""#, #""{\"erased\":{}}""#, #""{\"typing\":{}}""#, #""\u0000""#,
        ]
        func value(_ depth: Int, _ random: inout Xoshiro) -> String {
            switch depth < 4 ? random.next() % 6 : 0 {
            case 0, 1, 2: return scalars[Int(random.next() % UInt64(scalars.count))]
            case 3: return "[" + (0..<Int(random.next() % 4)).map { _ in value(depth + 1, &random) }.joined(separator: ",") + "]"
            default: return object(depth + 1, &random)
            }
        }
        func object(_ depth: Int, _ random: inout Xoshiro) -> String {
            "{" + (0..<Int(random.next() % 8)).map { _ in "\"\(keys[Int(random.next() % UInt64(keys.count))])\":" + value(depth, &random) }.joined(separator: ",") + "}"
        }
        await propertyCheck(count: 2_000, input: Gen.uint64()) { seed in
            var random = Xoshiro(seed: (seed, seed ^ 0x9E37_79B9_7F4A_7C15, ~seed, 0x2545_F491_4F6C_DD1D))
            let payload = Data(object(0, &random).utf8)
            guard let announcement = try? JSONDecoder().decode(ClusterAnnouncement.self, from: payload) else { return }
            let again = try? JSONDecoder().decode(ClusterAnnouncement.self, from: JSONEncoder().encode(announcement))
            #expect(again == announcement, "seed \(seed)")
        }
    }
}
