@testable import HeraldServer
import NIOCore
import NIOEmbedded
import PropertyBased
import Testing

/// `RequestHeadDeadlineHandler` reads every connection's first bytes, from anyone: it must find the end
/// of a request head however the head is cut into reads, and never before it ends (a slowloris client
/// would otherwise escape the deadline). Checked against the plain reading of the rule: after leading
/// CR and LF, the first "\r\n\r\n".
@Suite("Request head deadline")
struct RequestHeadDeadlineTests {
    /// Bytes that make heads, near-terminators and stray line ends.
    static let piece = Gen.element(of: ["\r", "\n", "\r\n", "\r\n\r", "\n\r\n", "GET / HTTP/1.1", "Host: a", " ", "x"]).map { $0 ?? "" }
    static let input = piece.array(of: 0...24).map { Array($0.joined().utf8) }

    /// The reference: the index just past the first terminator after the leading CR and LF, if any.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard let start = bytes.firstIndex(where: { $0 != 13 && $0 != 10 }) else { return nil }
        let terminator: [UInt8] = [13, 10, 13, 10]
        var index = start
        while index + 4 <= bytes.count {
            if Array(bytes[index..<(index + 4)]) == terminator { return index + 4 }
            index += 1
        }
        return nil
    }

    @Test("Cut into any reads, a head's end is found in the read that completes it, and nowhere sooner")
    func findsTheEndOfTheHead() async throws {
        await propertyCheck(count: 1_000, input: Self.input, Gen.int(in: 1...7).array(of: 1...12)) { bytes, cuts in
            let channel = EmbeddedChannel()
            let handler = RequestHeadDeadlineHandler(timeout: .seconds(60))
            try channel.pipeline.syncOperations.addHandler(handler)
            let end = Self.headEnd(bytes)
            var offset = 0
            var cut = 0
            while offset < bytes.count {
                let length = min(cuts[cut % cuts.count], bytes.count - offset)
                cut += 1
                try channel.writeInbound(ByteBuffer(bytes: bytes[offset..<(offset + length)]))
                offset += length
                let removed = (try? channel.pipeline.syncOperations.context(handler: handler)) == nil
                let shouldBeRemoved = end.map { $0 <= offset } ?? false
                #expect(removed == shouldBeRemoved, "\(String(decoding: bytes, as: UTF8.self).debugDescription) after \(offset) bytes")
                if removed { break }
            }
            _ = try? channel.finish()
        }
    }

    @Test("The matcher of the terminator, byte by byte")
    func matcher() {
        var state = 0
        var states: [Int] = []
        for byte in Array("a\r\r\n\r\r\n\r\n".utf8) {
            state = RequestHeadDeadlineHandler.matched(after: state, byte)
            states.append(state)
        }
        #expect(states == [0, 1, 1, 2, 3, 1, 2, 3, 4])
    }
}
