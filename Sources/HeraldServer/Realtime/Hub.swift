import Foundation
public import HeraldCore
public import HeraldStore
public import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// Who is connected right now, and delivery of realtime frames to them.
///
/// `deliver` is the store's commit observer: it runs synchronously after each commit, in commit order,
/// so every connection sees a channel's messages in seq order. Each frame is encoded once and the same
/// buffer is offered to every recipient's queue; nothing here waits for a client.
///
/// The registry is guarded by a `Mutex` instead of living in an actor for that reason: the observer is
/// synchronous, and delivery must not be reordered by hops between tasks.
public final class Hub: Sendable {
    private struct Key: Hashable {
        var app: AppID
        var user: UserID
    }

    private struct State {
        var connections: [Key: [ObjectIdentifier: OutboundQueue]] = [:]
        var count = 0
        var isShuttingDown = false
        /// This node does not hear the cluster's feed: a socket registered now would miss what other
        /// nodes commit until it is back.
        var isFeedDown = false
        var emptyWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
        /// New messages and the recipients no live connection took them for, until the push worker
        /// settles their push rows.
        var pushSettlements: [(message: MessageID, offline: [UserID])] = []
    }

    /// Beyond this many unsettled messages the oldest are dropped; their push rows then go to every
    /// member but the sender, which errs towards a push too many, never one too few.
    static let maxPendingSettlements = 100_000

    private let state = Mutex(State())
    private let logger: Logger
    /// In a cluster, hands what this node publishes to the other nodes (see `ClusterRelay`).
    private let forwarder = Mutex<(@Sendable (ClusterSignal, AppID, [UserID]) -> Void)?>(nil)

    public init(logger: Logger = Logger(label: "herald.hub")) {
        self.logger = logger
    }

    /// Live connections across all apps.
    public var connectionCount: Int { state.withLock { $0.count } }

    /// Live connections of one user.
    public func connectionCount(of user: UserID, in app: AppID) -> Int {
        state.withLock { $0.connections[Key(app: app, user: user)]?.count ?? 0 }
    }

    enum Registration: Equatable {
        case registered
        /// The user holds `limit` connections on this node already.
        case tooManyConnections
        case shuttingDown
        /// The cluster's feed is down: reconnect (and sync) in a moment.
        case feedDown
    }

    /// Adds a connection, unless the server is shutting down or the user already holds `limit` of them.
    func register(_ queue: OutboundQueue, user: UserID, in app: AppID, limit: Int = .max) -> Registration {
        state.withLock { state in
            guard !state.isShuttingDown else { return .shuttingDown }
            guard !state.isFeedDown else { return .feedDown }
            let key = Key(app: app, user: user)
            guard state.connections[key, default: [:]].count < limit else { return .tooManyConnections }
            state.connections[key, default: [:]][ObjectIdentifier(queue)] = queue
            state.count += 1
            return .registered
        }
    }

    func unregister(_ queue: OutboundQueue, user: UserID, in app: AppID) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            let key = Key(app: app, user: user)
            guard state.connections[key]?.removeValue(forKey: ObjectIdentifier(queue)) != nil else { return [] }
            if state.connections[key]?.isEmpty == true { state.connections[key] = nil }
            state.count -= 1
            guard state.count == 0 else { return [] }
            defer { state.emptyWaiters = [:] }
            return Array(state.emptyWaiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Sends what this hub publishes on to the other nodes of a cluster too (set once, at start-up).
    func forward(to forwarder: @escaping @Sendable (ClusterSignal, AppID, [UserID]) -> Void) {
        self.forwarder.withLock { $0 = forwarder }
    }

    private func forward(_ signal: ClusterSignal, app: AppID, to users: [UserID]) {
        forwarder.withLock { $0 }?(signal, app, users)
    }

    /// Closes every live connection of the user with 4401 (their token stopped being valid: erasure),
    /// on every node.
    func disconnect(_ user: UserID, in app: AppID, reason: String) {
        forward(.disconnect(reason: reason), app: app, to: [user])
        disconnectLocally(user, in: app, reason: reason)
    }

    /// The user was erased: every node forgets their data key and closes their connections with 4401.
    func erased(_ user: UserID, in app: AppID) {
        forward(.erased, app: app, to: [user])
        disconnectLocally(user, in: app, reason: "user erased")
    }

    func disconnectLocally(_ user: UserID, in app: AppID, reason: String) {
        let queues = state.withLock { Array(($0.connections[Key(app: app, user: user)] ?? [:]).values) }
        for queue in queues { queue.close(CloseCode.unauthenticated, reason: reason, discardingPending: true) }
    }

    /// The cluster's feed is lost: closes every live connection with 1012 (service restart), since
    /// they may have missed messages and get them back by reconnecting and syncing, and refuses new
    /// ones (`Registration.feedDown`) until `feedRestored`, since they would miss what is committed
    /// meanwhile. Marked and collected under one lock: no socket slips in between.
    func feedLost(reason: String) {
        let queues = state.withLock { state in
            state.isFeedDown = true
            return state.connections.values.flatMap { $0.values }
        }
        for queue in queues { queue.close(CloseCode.serviceRestart, reason: reason) }
    }

    /// The feed listens again: what is committed from now on is heard, so new sockets are taken.
    func feedRestored() {
        state.withLock { $0.isFeedDown = false }
    }

    /// The commit observer: fans committed message changes out to every live connection of every member.
    public func deliver(_ changes: [CommittedMessage]) {
        deliver(changes, settlesPushes: true)
    }

    /// - Parameter settlesPushes: whether the push rows of created messages are this node's to settle:
    ///   true for its own commits, false for other nodes' (the committing node settles those).
    func deliver(_ changes: [CommittedMessage], settlesPushes: Bool) {
        TracedStep.run("herald.deliver", ["herald.messages": .int(Int64(changes.count))]) { fanOut(changes, settlesPushes: settlesPushes) }
    }

    private func fanOut(_ changes: [CommittedMessage], settlesPushes: Bool) {
        var settlements: [(message: MessageID, offline: [UserID])] = []
        for change in changes {
            let frame: ServerFrame =
                switch change.change {
                case .created: .messageCreated(change.message)
                case .updated: .messageUpdated(change.message)
                case .deleted: .messageDeleted(change.message)
                }
            guard let buffer = FrameWriter.buffer(of: frame) else { continue }
            guard settlesPushes, change.change == .created, change.hasPushRow else {
                offer(buffer, app: change.app, to: change.members, collectingReached: false)
                continue
            }
            let reached = offer(buffer, app: change.app, to: change.members, collectingReached: true)
            let offline = change.members.filter { $0 != change.message.sender && !reached.contains($0) }
            settlements.append((change.message.id, offline))
        }
        guard !settlements.isEmpty else { return }
        state.withLock { state in
            state.pushSettlements += settlements
            let excess = state.pushSettlements.count - Self.maxPendingSettlements
            if excess > 0 { state.pushSettlements.removeFirst(excess) }
        }
    }

    /// Takes the messages delivered since the last call with the members who were offline then.
    func takePushSettlements() -> [(message: MessageID, offline: [UserID])] {
        state.withLock { state in
            defer { state.pushSettlements = [] }
            return state.pushSettlements
        }
    }

    /// Sends a frame (typing, read positions, inbox items) to the live connections of `users`; true when
    /// at least one connection took it.
    /// In a cluster the frame goes to the other nodes too, as a `ClusterSignal` (ids, no content).
    @discardableResult
    func publish(_ frame: ServerFrame, app: AppID, to users: some Sequence<UserID>) -> Bool {
        let users = Array(users)
        if let signal = ClusterSignal(frame) { forward(signal, app: app, to: users) }
        return publishLocally(frame, app: app, to: users)
    }

    /// Tells the other nodes of a cluster (none on a single node) that `items` were created: each node
    /// loads and signs the item for its own connections of its recipient.
    func announceInboxCreated(_ items: [InboxItem], app: AppID) {
        guard forwarder.withLock({ $0 }) != nil else { return }
        for item in items { forward(.inboxCreated(item.id), app: app, to: [item.recipient]) }
    }

    /// Sends a frame to this node's connections only (what another node announced).
    @discardableResult
    func publishLocally(_ frame: ServerFrame, app: AppID, to users: some Sequence<UserID>) -> Bool {
        guard let buffer = FrameWriter.buffer(of: frame) else { return false }
        return !offer(buffer, app: app, to: users, collectingReached: true).isEmpty
    }

    /// Offers `frame` to every live connection of `users`; returns the users at least one of whose
    /// connections took it when `collectingReached` (else an empty set: a group message to a
    /// thousand members without a push row skips hashing each of them again, on the writer's thread).
    @discardableResult
    private func offer(_ frame: ByteBuffer, app: AppID, to users: some Sequence<UserID>, collectingReached: Bool) -> Set<UserID> {
        var queues: [(user: UserID, queue: OutboundQueue)] = []
        queues.reserveCapacity(users.underestimatedCount)
        state.withLock { state in
            for user in users {
                guard let connections = state.connections[Key(app: app, user: user)] else { continue }
                for queue in connections.values { queues.append((user, queue)) }
            }
        }
        var reached: Set<UserID> = []
        for (user, queue) in queues {
            if queue.offer(frame) {
                if collectingReached { reached.insert(user) }
            } else if queue.isClosing {
                logger.debug("dropped a frame for a closing connection")
            }
        }
        return reached
    }

    /// Stops taking connections and closes every live one with 1001 (going away); returns at once.
    public func beginShutdown() {
        let queues = state.withLock { state in
            state.isShuttingDown = true
            return state.connections.values.flatMap { $0.values }
        }
        for queue in queues { queue.close(.goingAway, reason: "server shutting down") }
    }

    /// Waits until every connection has gone, or the task is cancelled.
    public func waitUntilEmpty() async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.count == 0 || Task.isCancelled { return true }
                    state.emptyWaiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.emptyWaiters.removeValue(forKey: id) }?.resume()
        }
    }
}
