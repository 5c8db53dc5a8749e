import NIOCore
import Synchronization

/// Writes the sockets of one event loop that have frames waiting, a slice of them at a time, with the
/// loop polling its sockets between slices.
///
/// Why (issue 19): a commit to a group of a thousand wakes hundreds of sockets on each loop. NIO runs
/// every queued task before it polls again, so when each socket is woken by a task of its own the
/// loop reads nothing until the whole fan-out is written: the business's next send, and every other
/// user's message, waits behind it, and each socket's write carries one frame (a `writev` per
/// delivery, measured). Written in slices with a poll in between, requests are read during a
/// fan-out, the next commits add their frames to the sockets not yet written, and one write then
/// carries them all: the busier the server, the more deliveries a system call carries.
///
/// A socket is in the pass at most once until it is written (its `OutboundQueue` wakes only an idle
/// queue), so the list is bounded by the loop's sockets; sockets are written in the order they woke.
final class DeliveryPass: Sendable {
    /// Sockets written before the loop polls again: large enough that the poll's cost (two or three
    /// system calls) is small beside the writes, small enough that a request read meanwhile waits
    /// about half a millisecond.
    static let sliceSize = 32
    /// How far ahead the next slice is scheduled: far enough that it is not yet due when the loop
    /// looks for tasks after this one (it would then run before the poll; 1 and 5 µs often were),
    /// short enough that a loop with nothing else to do idles little: 20 µs beside about 250 µs of
    /// writes per slice, 6 ms in all for a fan-out to 10,000 sockets on one loop. (100 µs gave a
    /// few more frames per `writev` under load, within the noise, and five times that idle.)
    static let pause = TimeAmount.microseconds(20)

    private struct State {
        var waiting: [@Sendable () -> Void] = []
        /// Sockets of `waiting` before this index are written.
        var next = 0
        var isScheduled = false
    }

    private let loop: any EventLoop
    private let state = Mutex(State())

    init(loop: any EventLoop) {
        self.loop = loop
    }

    /// The socket has frames to write (called from any thread, once per idle-to-busy change):
    /// `write` is called on the loop, in a later slice. (The socket's one closure, made when it
    /// opened: nothing is allocated per wake.)
    func wake(_ write: @escaping @Sendable () -> Void) {
        let schedules = state.withLock { state -> Bool in
            state.waiting.append(write)
            defer { state.isScheduled = true }
            return !state.isScheduled
        }
        if schedules { loop.execute { self.writeSlice() } }
    }

    /// Writes the next slice; schedules the one after it behind a poll of the loop.
    private func writeSlice() {
        let slice = state.withLock { state -> [@Sendable () -> Void] in
            let end = min(state.waiting.count, state.next + Self.sliceSize)
            defer { state.next = end }
            // A copy: a slice would share the array's storage, and the next wake would copy it all.
            return Array(state.waiting[state.next..<end])
        }
        for write in slice { write() }
        let more = state.withLock { state -> Bool in
            if state.next == state.waiting.count {
                state.waiting.removeAll(keepingCapacity: true)
                state.next = 0
                state.isScheduled = false
                return false
            }
            if state.next > state.waiting.count / 2 {
                state.waiting.removeFirst(state.next)
                state.next = 0
            }
            return true
        }
        // A task queued with `execute` would run before the loop polls (NIO runs every ready task
        // first); one scheduled a moment ahead lets the loop read and write its sockets meanwhile.
        if more { loop.scheduleTask(in: Self.pause) { self.writeSlice() } }
    }
}

/// One `DeliveryPass` per event loop, made when the loop's first socket opens.
final class DeliveryPasses: Sendable {
    private let passes = Mutex<[ObjectIdentifier: DeliveryPass]>([:])

    init() {}

    func pass(for loop: any EventLoop) -> DeliveryPass {
        passes.withLock { passes in
            if let pass = passes[ObjectIdentifier(loop)] { return pass }
            let pass = DeliveryPass(loop: loop)
            passes[ObjectIdentifier(loop)] = pass
            return pass
        }
    }
}
