public import ServiceLifecycle

/// Closes every WebSocket with 1001 (going away) when the process is asked to stop.
///
/// It is placed after the HTTP application in the `ServiceGroup`, which shuts services down in reverse
/// order: so the sockets are closed with 1001 and drained first, and only then does the HTTP server
/// stop accepting and finish in-flight requests. (Left to itself, the WebSocket layer would close
/// them with 1000 during the server's shutdown.)
///
/// First of all it takes the node out of rotation (`GET /ready` answers 503), so load balancers stop
/// sending new connections while the old ones drain.
public struct RealtimeDrainService: Service {
    let hub: Hub
    let readiness: Readiness
    let timeout: Duration

    public init(hub: Hub, readiness: Readiness = Readiness(), timeout: Duration = .seconds(10)) {
        self.hub = hub
        self.readiness = readiness
        self.timeout = timeout
    }

    public func run() async throws {
        try? await gracefulShutdown()
        readiness.beginStopping()
        hub.beginShutdown()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await hub.waitUntilEmpty() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }
}
