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
    /// The upgrade request's `Origin`, when a browser opened the connection.
    let origin: String?
    /// Whom failed `auth` frames count against.
    let clientAddress: ClientAddress
    private let identityState = Mutex<Identity?>(nil)

    init(queue: OutboundQueue, origin: String?, clientAddress: ClientAddress) {
        self.queue = queue
        self.origin = origin
        self.clientAddress = clientAddress
    }

    var identity: Identity? { identityState.withLock { $0 } }

    func authenticate(_ identity: Identity) {
        identityState.withLock { $0 = identity }
    }
}
