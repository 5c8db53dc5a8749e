public import ServiceLifecycle

/// Closes every WebSocket with 1001 (going away) when the process is asked to stop.
///
/// It is placed after the HTTP application in the `ServiceGroup`, which shuts services down in reverse
/// order: so the sockets are closed with 1001 and drained first, and only then does the HTTP server
/// stop accepting and finish in-flight requests. (Left to itself, the WebSocket layer would close
/// them with 1000 during the server's shutdown.)
///
/// First of all it takes the node out of rotation (`GET /ready` answers 503) and keeps serving for
/// `drainDelay`, the time a load balancer needs to see that (about one probe interval), so it stops
/// sending new connections before the old ones are closed.
public struct RealtimeDrainService: Service {
    let hub: Hub
    let readiness: Readiness
    let timeout: Duration
    let drainDelay: Duration

    public init(hub: Hub, readiness: Readiness = Readiness(), timeout: Duration = .seconds(10), drainDelay: Duration = .zero) {
        self.hub = hub
        self.readiness = readiness
        self.timeout = timeout
        self.drainDelay = drainDelay
    }

    public func run() async throws {
        try? await gracefulShutdown()
        readiness.beginStopping()
        if drainDelay > .zero { try? await Task.sleep(for: drainDelay) }
        hub.beginShutdown()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await hub.waitUntilEmpty() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }
}
