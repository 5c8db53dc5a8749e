import Foundation
import HeraldCore
import Logging
import NIOCore
import Synchronization

/// What one connection's event-loop handler and its frame task share: who it is once authenticated,
/// its outbound queue, and the client frames waiting to be handled.
///
/// Client frames are handled one after another, in the order they arrived (a client's sends are
/// stored in the order it sent them), by a task that exists only while there are frames: an idle
/// socket holds no task. `enqueue` says when a task must be started, `next` when it may end.
final class RealtimeSession: Sendable {
    struct Identity: Sendable {
        var app: AppID
        var user: UserID
        var expiresAt: Date
    }

    /// What the handler does after `enqueue`.
    struct Arrival: Equatable {
        /// No task is handling frames: start one.
        var startsTask: Bool
        /// Enough frames wait: reading from the socket stops until `next` makes room.
        var pausesReading: Bool
    }

    /// A client frame waiting to be handled.
    struct Waiting: Equatable {
        var text: String
        /// Taken from the user's frame budget on arrival; false for frames that arrived before the
        /// socket was authenticated, which the task charges once it is.
        var isCharged: Bool
    }

    private struct State {
        var identity: Identity?
        var frames: [Waiting] = []
        var head = 0
        var isHandling = false
        var isReadingPaused = false
        var isEnded = false
        var timers: [Scheduled<Void>] = []
    }

    let queue: OutboundQueue
    /// The upgrade request's `Origin`, when a browser opened the connection.
    let origin: String?
    /// Whom failed `auth` frames count against.
    let clientAddress: ClientAddress
    let eventLoop: any EventLoop
    let logger: Logger
    /// Client frames waiting beyond this many pause reading from the socket (TCP then pushes back).
    let maxWaitingFrames: Int
    private let resumeReading: @Sendable () -> Void
    private let state = Mutex(State())

    init(
        queue: OutboundQueue, origin: String?, clientAddress: ClientAddress, eventLoop: any EventLoop, logger: Logger, maxWaitingFrames: Int = 32,
        resumeReading: @escaping @Sendable () -> Void = {}
    ) {
        self.queue = queue
        self.origin = origin
        self.clientAddress = clientAddress
        self.eventLoop = eventLoop
        self.logger = logger
        self.maxWaitingFrames = maxWaitingFrames
        self.resumeReading = resumeReading
    }

    var identity: Identity? { state.withLock { $0.identity } }

    /// Records who the socket is; false (nothing recorded) when the socket has gone already.
    func authenticate(_ identity: Identity) -> Bool {
        state.withLock { state in
            guard !state.isEnded else { return false }
            state.identity = identity
            return true
        }
    }

    /// Whether reading from the socket is paused (too many frames wait).
    var isReadingPaused: Bool { state.withLock { $0.isReadingPaused } }

    /// A client frame arrived (on the event loop).
    func enqueue(_ frame: String, isCharged: Bool = true) -> Arrival {
        state.withLock { state in
            guard !state.isEnded else { return Arrival(startsTask: false, pausesReading: false) }
            state.frames.append(Waiting(text: frame, isCharged: isCharged))
            let startsTask = !state.isHandling
            state.isHandling = true
            let pauses = state.frames.count - state.head >= maxWaitingFrames && !state.isReadingPaused
            if pauses { state.isReadingPaused = true }
            return Arrival(startsTask: startsTask, pausesReading: pauses)
        }
    }

    /// Up to `count` waiting frames, in order; none means the handling task ends (the next `enqueue`
    /// starts another).
    func next(upTo count: Int) -> [Waiting] {
        let (frames, resumes) = state.withLock { state -> ([Waiting], Bool) in
            guard !state.isEnded, state.head < state.frames.count else {
                state.isHandling = false
                state.frames.removeAll()
                state.head = 0
                return ([], false)
            }
            let end = min(state.frames.count, state.head + count)
            let frames = Array(state.frames[state.head..<end])
            state.head = end
            if state.head == state.frames.count {
                state.frames.removeAll(keepingCapacity: true)
                state.head = 0
            }
            let resumes = state.isReadingPaused && state.frames.count - state.head <= maxWaitingFrames / 2
            if resumes { state.isReadingPaused = false }
            return (frames, resumes)
        }
        if resumes { resumeReading() }
        return frames
    }

    /// Keeps a timer (auth deadline, token expiry) to cancel when the socket goes; cancels it at once
    /// when it has gone already.
    func keep(_ timer: Scheduled<Void>) {
        let ended = state.withLock { state -> Bool in
            if !state.isEnded { state.timers.append(timer) }
            return state.isEnded
        }
        if ended { timer.cancel() }
    }

    /// The socket is gone: frames not handled yet are dropped, timers cancelled. Returns who it was
    /// (to unregister), unless it never authenticated; `authenticate` fails from now on, so a socket
    /// is unregistered exactly once however its authentication and its end interleave.
    func end() -> Identity? {
        let (timers, identity) = state.withLock { state -> ([Scheduled<Void>], Identity?) in
            state.isEnded = true
            state.frames = []
            state.head = 0
            defer { state.timers = [] }
            return (state.timers, state.identity)
        }
        for timer in timers { timer.cancel() }
        return identity
    }
}
