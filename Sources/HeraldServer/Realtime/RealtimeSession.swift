import Foundation
import HeraldCore
import Synchronization

/// The state one connection's tasks share: who it is once authenticated, and its outbound queue.
final class RealtimeSession: Sendable {
    struct Identity: Sendable {
        var app: AppID
        var user: UserID
        var expiresAt: Date
    }

    let queue: OutboundQueue
    private let identityState = Mutex<Identity?>(nil)

    init(queue: OutboundQueue) {
        self.queue = queue
    }

    var identity: Identity? { identityState.withLock { $0 } }

    func authenticate(_ identity: Identity) {
        identityState.withLock { $0 = identity }
    }
}
