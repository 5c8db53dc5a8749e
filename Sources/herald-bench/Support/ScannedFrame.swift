import Foundation
import NIOCore

/// What the benchmark needs of a server frame, found by scanning its bytes, with the time it arrived.
///
/// The benchmark shares the server's two cores: decoding every frame with Foundation's JSON made the
/// client a bottleneck of its own (issue 19), so clients take the arrival time first and then look
/// only for the few fields they check. Herald writes compact JSON with one `type`, one `seq` (the
/// message's) and the sender's text as the benchmark sent it (`t=NANOS`), which is all this relies on;
/// a frame it does not recognize is `.other`.
struct ScannedFrame {
    enum Kind: Equatable {
        case ready, messageCreated, ack, error, other
    }

    let kind: Kind
    /// Nanoseconds since `LatencyScenario.origin` when the frame was read.
    let arrivedNanos: Int64
    /// `message.created`: the message's seq.
    let seq: Int64?
    /// `message.created`: when its send was scheduled (nanoseconds since the origin, from `t=`).
    let sentNanos: Int64?
    /// `ack`: the send's `clientMessageId`.
    let clientMessageID: String?
    private let bytes: ByteBuffer

    /// The frame as text, for messages about it.
    var text: String { String(buffer: bytes) }

    init(_ bytes: ByteBuffer, arrivedNanos: Int64) {
        self.bytes = bytes
        self.arrivedNanos = arrivedNanos
        (kind, seq, sentNanos, clientMessageID) = bytes.withUnsafeReadableBytes { raw in
            let type = Self.string(after: #""type":""#, in: raw)
            let kind: Kind =
                switch type {
                case "ready": .ready
                case "message.created": .messageCreated
                case "ack": .ack
                case "error": .error
                default: .other
                }
            return (
                kind,
                kind == .messageCreated ? Self.integer(after: #""seq":"#, in: raw) : nil,
                kind == .messageCreated ? Self.integer(after: #""text":"t="#, in: raw) : nil,
                kind == .ack ? Self.string(after: #""clientMessageId":""#, in: raw) : nil
            )
        }
    }

    /// Nanoseconds since `LatencyScenario.origin`, now.
    static func now() -> Int64 {
        let elapsed = ContinuousClock.now - LatencyScenario.origin
        return elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
    }

    /// Microseconds from a send to this frame (0 when the clock says otherwise).
    func microseconds(since sentNanos: Int64) -> UInt64 {
        UInt64(max(0, (arrivedNanos - sentNanos) / 1000))
    }

    private static func end(of needle: StaticString, in bytes: UnsafeRawBufferPointer) -> Int? {
        let needle = UnsafeRawBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        guard needle.count <= bytes.count, let first = needle.first else { return nil }
        var index = 0
        while index + needle.count <= bytes.count {
            if bytes[index] == first, memcmp(bytes.baseAddress! + index, needle.baseAddress!, needle.count) == 0 { return index + needle.count }
            index += 1
        }
        return nil
    }

    private static func string(after needle: StaticString, in bytes: UnsafeRawBufferPointer) -> String? {
        guard let start = end(of: needle, in: bytes), let close = bytes[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<close]), as: UTF8.self)
    }

    private static func integer(after needle: StaticString, in bytes: UnsafeRawBufferPointer) -> Int64? {
        guard let start = end(of: needle, in: bytes) else { return nil }
        var value: Int64 = 0
        var index = start
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times.addingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
            guard !overflow, !carry else { return nil }
            value = sum
            index += 1
        }
        return index > start ? value : nil
    }
}
