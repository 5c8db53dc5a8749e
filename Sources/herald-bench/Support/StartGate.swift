import Synchronization

/// Holds every sender after its handshake until all have connected, then releases them at one
/// instant: the CPU windows and the send schedule start after connection set-up, not during it.
///
/// A sender that fails to connect still arrives (`abandon`), so the run fails instead of waiting.
final class StartGate: Sendable {
    /// Handshakes in flight at once (as for receivers: a storm of them times some out).
    static let inFlight = 128

    private let arrived = Tally()
    private let opened = Tally()
    private let state = Mutex<(start: ContinuousClock.Instant?, abandoned: Int)>((nil, 0))

    /// Waits until sender `index` may start its handshake.
    func admit(_ index: Int) async {
        if index >= Self.inFlight { await arrived.wait(atLeast: index - Self.inFlight + 1) }
    }

    /// A sender is connected: waits for the common start and returns it.
    func arriveAndWait() async -> ContinuousClock.Instant {
        arrived.add()
        await opened.wait(atLeast: 1)
        return state.withLock { $0.start ?? .now }
    }

    /// A sender could not connect.
    func abandon() {
        state.withLock { $0.abandoned += 1 }
        arrived.add()
    }

    /// Waits for `count` senders; false when one of them could not connect.
    func allArrived(_ count: Int) async -> Bool {
        await arrived.wait(atLeast: count)
        return state.withLock { $0.abandoned == 0 }
    }

    /// Releases every sender; returns the start.
    func open() -> ContinuousClock.Instant {
        let start = ContinuousClock.now
        state.withLock { $0.start = start }
        opened.add()
        return start
    }
}
