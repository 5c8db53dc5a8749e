import Foundation
import HeraldCore
import HeraldStore
import Logging
import ServiceLifecycle
import Synchronization

/// Carries realtime events between the nodes of a cluster (`herald serve --database`), over the
/// store's LISTEN/NOTIFY feed: what any node commits reaches this node's connections at once, in
/// commit order (its own commits come through the feed too), and what this node publishes (read
/// positions, typing, new inbox items, erasures) reaches theirs.
///
/// If the feed is lost (the database restarted, the connection dropped), events announced meanwhile are
/// not heard. The relay then closes every live connection with 1012, so that clients reconnect and
/// `sync` what they missed, refuses new sockets (1012 too) until it listens again, and listens again
/// once the database answers.
///
/// An announcement that fails is retried for a bounded time (`AnnouncementRetry`); typing, which is
/// stale in a second, is not.
final class ClusterRelay: Service, Sendable {
    private let store: PostgresStore
    private let hub: Hub
    /// Signs an announced item of a shared notification before it goes to a connection here.
    private let inboxSigner: InboxItemSigner
    private let logger: Logger
    private let outgoing: AsyncStream<(ClusterSignal, AppID, [UserID])>
    private let outgoingSink: AsyncStream<(ClusterSignal, AppID, [UserID])>.Continuation
    private let listening = ListeningGate()
    private let readiness: Readiness

    init(store: PostgresStore, hub: Hub, readiness: Readiness, now: @escaping @Sendable () -> Date = { Date() }, logger: Logger) {
        self.store = store
        self.hub = hub
        inboxSigner = InboxItemSigner(signer: BusinessSigner(store: store, now: now), store: store)
        self.readiness = readiness
        self.logger = logger
        (outgoing, outgoingSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(100_000))
        hub.forward { [outgoingSink] signal, app, users in outgoingSink.yield((signal, app, users)) }
    }

    /// Returns once this node hears the other nodes (or the task is cancelled), so the server starts
    /// taking connections only when it can deliver what other nodes commit.
    func waitUntilListening() async {
        await listening.wait()
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.listen() }
                group.addTask { await self.announce() }
                await group.waitForAll()
            }
        }
        outgoingSink.finish()
    }

    private func listen() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await store.listen(listening: {
                    self.hub.feedRestored()
                    self.listening.open()
                    self.readiness.feed(isListening: true)
                }) { event in
                    await self.handle(event)
                }
            } catch {
                guard !Task.isCancelled else { return }
                failures += 1
                logger.error(
                    "lost the cluster's event feed; closing live connections so clients resync, and listening again",
                    metadata: ["error": "\(error)"])
                readiness.feed(isListening: false)
                hub.feedLost(reason: "cluster feed lost")
                // An erasure announced meanwhile was not heard: cached data keys may be destroyed ones.
                store.keys.forgetAll()
            }
            // 0.4 s after the first loss, doubling up to 5 s while the database stays away.
            try? await Task.sleep(for: .milliseconds(min(5_000, 200 * (1 << min(failures, 5)))))
        }
    }

    private func handle(_ event: ClusterEvent) async {
        switch event {
        case .messages(let changes, let fromThisNode):
            // The node that committed a message settles its push row.
            hub.deliver(changes, settlesPushes: fromThisNode)
        case .unreadable(let reason):
            // A node of another version: what it announced is not delivered live here (clients catch up
            // from history when they resume).
            logger.warning("skipped a cluster announcement this node cannot read; run one version of Herald on every node", metadata: ["reason": "\(reason)"])
        case .signal(let app, let users, let signal):
            switch signal {
            case .read(let position): hub.publishLocally(.read(position), app: app, to: users)
            case .typing(let channel, let user): hub.publishLocally(.typing(channelID: channel, userID: user), app: app, to: users)
            case .disconnect(let reason): for user in users { hub.disconnectLocally(user, in: app, reason: reason) }
            case .erased:
                for user in users {
                    store.keys.forget(user, in: app)
                    hub.disconnectLocally(user, in: app, reason: "user erased")
                }
            case .inboxCreated(let id):
                for user in users {
                    // The recipient may have no connection here at all: then there is nothing to load.
                    guard hub.connectionCount(of: user, in: app) > 0, let stored = try? await store.inboxItem(id, of: user, in: app),
                        let (signed, signatures) = try? await inboxSigner.signing([stored], app: app)
                    else { continue }
                    if hub.publishLocally(.inboxCreated(signed[0]), app: app, to: [user]) {
                        try? await store.markDelivered([id], signatures: signatures, app: app)
                    }
                }
            }
        }
    }

    private func announce() async {
        for await (signal, app, users) in outgoing {
            let retry = AnnouncementRetry.for(signal)
            let announced = await retry.run { try await self.store.announce(signal, app: app, to: users) }
            if !announced {
                logger.error("could not announce to the cluster; gave up", metadata: ["signal": "\(signal.kind)", "users": "\(users.count)"])
            }
        }
    }
}

/// Opens once; waiters before that are resumed when it opens.
final class ListeningGate: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when the gate opens, or when the task is cancelled.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.isOpen || Task.isCancelled { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiters = state.withLock { state in
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }
}
