import Foundation
import NIOCore
import Synchronization

/// The benchmark's WebSocket roles over `BenchWebSocket`: a receiver that reads until it has `count`
/// messages, a sender on a fixed schedule (`latency`) and a sender that keeps a window of messages in
/// flight (`throughput`). Sends are paced by event-loop timers and acks handled as they are read, so a
/// role costs no task per frame; the async function of each only waits for the gate and the end.
enum BenchSocket {
    /// Paced under the server's per-connection limit (100 frames/s sustained; 4429 beyond it).
    static let sendSpacing = Duration.milliseconds(11)

    /// Reads until `count` `message.created` frames arrived; each frame is timed on arrival, then scanned.
    static func receive(url: String, token: String, count: Int, onFrame: @escaping @Sendable (ScannedFrame) -> Void) async throws {
        let messages = Counter()
        let socket = try await BenchWebSocket.connect(url: url, token: token) { frame, socket in
            onFrame(frame)
            if frame.kind == .messageCreated, messages.increment() == count { socket.close() }
        }
        await socket.closed()
        guard messages.value >= count else {
            throw LatencyScenario.Failure(description: "a receiver's socket closed after \(messages.value) of \(count) messages")
        }
    }

    /// Sends `count` messages on a schedule (`interval` apart, from the gate's start plus `offset`),
    /// each stamped and timed from its scheduled instant, and records the time to each `ack`.
    static func send(
        url: String, token: String, channel: String, count: Int, interval: Duration, offset: Duration, gate: StartGate, recorder: LatencyScenario.Recorder
    ) async throws {
        let sentAt = SendTimes()
        let acks = Counter()
        let failure = FirstError()
        let socket = try await BenchWebSocket.connect(url: url, token: token) { frame, socket in
            if frame.kind == .error { return refused(frame, socket, failure) }
            guard frame.kind == .ack, let id = frame.clientMessageID, let nanos = sentAt.take(id) else { return }
            recorder.ack(frame.microseconds(since: nanos))
            if acks.increment() == count { socket.close() }
        }
        let start = await gate.arriveAndWait() + offset
        let loop = socket.channel.eventLoop
        // The schedule runs on the loop's clock, the stamps on the origin's: read back to back, the stamps'
        // clock first, so a pause between the reads makes sends late (latency overstated), never early.
        let (clockNow, loopNow) = (ContinuousClock.now, NIODeadline.now())
        let first = loopNow + TimeAmount(start - clockNow)
        @Sendable func schedule(_ index: Int) {
            loop.scheduleTask(deadline: first + TimeAmount(interval * index)) {
                let id = "b\(index)"
                let nanos = LatencyScenario.nanos(at: start + interval * index)
                sentAt.record(id, nanos)
                socket.send(#"{"type":"message.send","channelId":"\#(channel)","clientMessageId":"\#(id)","text":"t=\#(nanos)"}"#)
                if index + 1 < count { schedule(index + 1) }
            }
        }
        if count > 0 { schedule(0) }
        await socket.closed()
        try check(acks: acks.value, of: count, failure: failure)
    }

    /// Sends `count` messages keeping at most `window` without an ack, at most one per `sendSpacing`,
    /// recording each ack's latency; tells `lastSend` when its last message left.
    static func sendWindowed(
        url: String, token: String, channel: String, count: Int, window: Int, gate: StartGate, lastSend: Tally, recorder: LatencyScenario.Recorder
    ) async throws {
        let sentAt = SendTimes()
        let failure = FirstError()
        let pacer = WindowPacer(count: count, window: window) { sent, socket in
            let nanos = ScannedFrame.now()
            let id = "w\(sent)"
            sentAt.record(id, nanos)
            socket.send(#"{"type":"message.send","channelId":"\#(channel)","clientMessageId":"\#(id)","text":"t=\#(nanos)"}"#)
            if sent + 1 == count { lastSend.add() }
        }
        let socket = try await BenchWebSocket.connect(url: url, token: token) { frame, socket in
            if frame.kind == .error { return refused(frame, socket, failure) }
            guard frame.kind == .ack, let id = frame.clientMessageID, let nanos = sentAt.take(id) else { return }
            recorder.ack(frame.microseconds(since: nanos))
            pacer.acked(socket)
        }
        _ = await gate.arriveAndWait()
        socket.channel.eventLoop.execute { pacer.pump(socket) }
        await socket.closed()
        try check(acks: pacer.acks, of: count, failure: failure)
    }

    /// The server refused a send: the run fails with its frame.
    private static func refused(_ frame: ScannedFrame, _ socket: BenchWebSocket, _ failure: FirstError) {
        FileHandle.standardError.write(Data("herald-bench: a send was refused: \(frame.text)\n".utf8))
        failure.record("a send was refused: \(frame.text)")
        socket.close()
    }

    private static func check(acks: Int, of count: Int, failure: FirstError) throws {
        if let failure = failure.value { throw LatencyScenario.Failure(description: failure) }
        guard acks >= count else {
            FileHandle.standardError.write(Data("herald-bench: a sender's socket closed after \(acks) of \(count) acks\n".utf8))
            throw LatencyScenario.Failure(description: "a sender's socket closed after \(acks) of \(count) acks (a limit of the server?)")
        }
    }
}

/// A count shared by a socket's frame handler and the task that waits for its end.
final class Counter: Sendable {
    private let count = Mutex(0)
    /// Adds one; returns the new count.
    func increment() -> Int { count.withLock { $0 += 1; return $0 } }
    var value: Int { count.withLock { $0 } }
}

/// When each send of one connection left, by `clientMessageId`, until its ack.
final class SendTimes: Sendable {
    private let times = Mutex<[String: Int64]>([:])
    func record(_ id: String, _ nanos: Int64) { times.withLock { $0[id] = nanos } }
    func take(_ id: String) -> Int64? { times.withLock { $0.removeValue(forKey: id) } }
}

/// `throughput`'s pacing of one sender: up to `window` sends without an ack, one per
/// `BenchSocket.sendSpacing` at most. Called on the connection's event loop only (the gate's start,
/// its own timers, the frame handler), so sends leave in order.
final class WindowPacer: Sendable {
    private struct State {
        var sent = 0
        var acks = 0
        var credits: Int
        var nextAllowed = NIODeadline.uptimeNanoseconds(0)
        var timerPending = false
    }

    private let count: Int
    private let state: Mutex<State>
    private let sendNext: @Sendable (_ sent: Int, BenchWebSocket) -> Void

    /// - Parameter sendNext: sends message number `sent` (from 0).
    init(count: Int, window: Int, sendNext: @escaping @Sendable (_ sent: Int, BenchWebSocket) -> Void) {
        self.count = count
        state = Mutex(State(credits: window))
        self.sendNext = sendNext
    }

    var acks: Int { state.withLock { $0.acks } }

    /// Sends what the window and the spacing allow now, and sets a timer for the next one.
    func pump(_ socket: BenchWebSocket) {
        let spacing = TimeAmount(BenchSocket.sendSpacing)
        while true {
            let next = state.withLock { state -> (send: Int?, wait: NIODeadline?) in
                state.timerPending = false
                guard state.credits > 0, state.sent < count else { return (nil, nil) }
                let now = NIODeadline.now()
                guard now >= state.nextAllowed else {
                    state.timerPending = true
                    return (nil, state.nextAllowed)
                }
                state.nextAllowed = max(now, state.nextAllowed) + spacing
                state.credits -= 1
                state.sent += 1
                return (state.sent - 1, nil)
            }
            if let sent = next.send {
                sendNext(sent, socket)
                continue
            }
            if let wait = next.wait { socket.channel.eventLoop.scheduleTask(deadline: wait) { self.pump(socket) } }
            return
        }
    }

    /// An ack: one more credit, or the end.
    func acked(_ socket: BenchWebSocket) {
        let (done, idle) = state.withLock { state -> (Bool, Bool) in
            state.acks += 1
            state.credits += 1
            return (state.acks == count, !state.timerPending)
        }
        if done { socket.close() } else if idle { pump(socket) }
    }
}
