import Synchronization

/// One realtime connection attempt, and whichever of its outcomes comes first: the connection ends
/// (after working or not), or its WebSocket handshake takes too long and the attempt is abandoned.
///
/// Why abandoning is needed: the WebSocket client cannot cancel a handshake, and it allows remote
/// half-closure, so a peer that closes its side during the upgrade (a proxy restarting) leaves the
/// handshake waiting for ever. An abandoned attempt's connection, should it still open later, is closed
/// at once by its handler and none of its frames are read.
final class ConnectionAttempt: Sendable {
    enum Outcome: Sendable {
        case ended
        case abandoned
    }

    private enum Phase {
        case handshaking
        case open
        case abandoned
        case ended
    }

    private struct State {
        var phase = Phase.handshaking
        var outcome: Outcome?
        var waiter: CheckedContinuation<Outcome, Never>?
    }

    private let state = Mutex(State())

    /// The handshake completed; false when the attempt was abandoned first (the handler must then close).
    func open() -> Bool {
        state.withLock { state in
            guard state.phase == .handshaking else { return false }
            state.phase = .open
            return true
        }
    }

    /// Gives up on the handshake, unless it completed (or the connection ended) already.
    func abandonHandshake() {
        resolve(.abandoned) { $0 == .handshaking ? .abandoned : nil }
    }

    /// The connection's task finished.
    func end() {
        resolve(.ended) { $0 == .abandoned ? nil : .ended }
    }

    /// Waits for the first outcome (returns at once when there is one already).
    func outcome() async -> Outcome {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Outcome? in
                if let outcome = state.outcome { return outcome }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Moves to the phase `next` returns for the current one (nil: no change), and resolves the wait
    /// with `outcome` if it is the first.
    private func resolve(_ outcome: Outcome, next: (Phase) -> Phase?) {
        let waiter = state.withLock { state -> CheckedContinuation<Outcome, Never>? in
            guard let phase = next(state.phase) else { return nil }
            state.phase = phase
            guard state.outcome == nil else { return nil }
            state.outcome = outcome
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: outcome)
    }
}
