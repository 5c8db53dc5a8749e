import Foundation
import HeraldCore
import Testing

/// The learned read hour: the hour with most reads in the customer's time zone, and the next start of it.
@Suite("Read hour")
struct ReadHourTests {
    private func date(_ text: String) -> Date { WireTime.parse(text)! }

    @Test("The hour with most reads, in the customer's zone; the earliest on a tie; none without reads")
    func usual() throws {
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        let reads = ["2026-11-02T18:10:00Z", "2026-11-03T18:50:00Z", "2026-11-04T07:05:00Z", "2026-11-05T18:30:00Z"].map(date)
        #expect(ReadHour.usual(from: reads, timeZone: berlin) == 19)
        #expect(ReadHour.usual(from: reads, timeZone: TimeZone(identifier: "UTC")!) == 18)
        #expect(ReadHour.usual(from: [date("2026-11-02T20:00:00Z"), date("2026-11-02T08:00:00Z")], timeZone: TimeZone(identifier: "UTC")!) == 8)
        #expect(ReadHour.usual(from: [], timeZone: berlin) == nil)
    }

    @Test("The next start of the hour: later today, tomorrow, or now while it runs; across a change of summer time")
    func next() throws {
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        #expect(ReadHour.next(after: date("2026-12-01T09:00:00Z"), hour: 19, timeZone: berlin) == date("2026-12-01T18:00:00Z"))
        #expect(ReadHour.next(after: date("2026-12-01T20:00:00Z"), hour: 19, timeZone: berlin) == date("2026-12-02T18:00:00Z"))
        #expect(ReadHour.next(after: date("2026-12-01T18:20:00Z"), hour: 19, timeZone: berlin) == date("2026-12-01T18:20:00Z"))
        #expect(ReadHour.next(after: date("2026-03-28T20:00:00Z"), hour: 19, timeZone: berlin) == date("2026-03-29T17:00:00Z"), "summer time from the 29th")
    }

    @Test("A wait names a duration or the read hour, not both, nor anything else")
    func declared() throws {
        func read(_ wait: String) -> Bool {
            let body = #"{"name":"x","category":"marketing","trigger":{"event":"x"},"steps":[{"id":"w","wait":\#(wait)}]}"#
            return (try? JourneyDefinition(body: Data(body.utf8))) != nil
        }
        #expect(read(#"{"until":"read-hour"}"#))
        #expect(read(#"{"duration":"1h"}"#))
        #expect(!read(#"{"until":"read-hour","duration":"1h"}"#))
        #expect(!read(#"{"until":"noon"}"#))
        #expect(!read(#"{}"#))
    }
}
