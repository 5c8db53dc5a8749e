import Foundation
import HeraldCore
import HeraldStore
import HeraldLoopback
import Histogram
import Synchronization

/// `count` idle authenticated WebSockets, one per user, held for `hold`: the server listens on
/// 0.0.0.0 and the clients spread over `addresses` loopback destinations (127.0.0.1, .2, …), since one
/// (source, destination) address pair has only about 28,000 ephemeral ports. Reports the connect rate,
/// the time from connect to `ready`, and the server's resident memory per connection (its growth from
/// before the first connection to after the last, over the count). Fails unless every socket said
/// `ready`, none was closed while held, and the server's `herald_realtime_connections` gauge counts
/// them all.
///
/// Both ends hold one descriptor per socket, so the count is bounded by the process's open-file limit
/// (`ulimit -n`), which the scenario reports: the server and this process inherit the same limit.
struct ConnectionsScenario {
    let count: Int?
    let addresses: Int
    let hold: Duration
    /// Handshakes in flight at once.
    let inFlight = 256

    /// Room left for the server's and the benchmark's own descriptors (databases, listeners, pipes).
    static let reservedDescriptors = 400

    static var descriptorLimit: Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return Int(min(limit.rlim_cur, rlim_t(Int32.max)))
    }

    /// What the sockets report back: connected (said `ready`), settled (ready, failed or closed before
    /// ready: bounds the handshakes in flight), dropped while held, and the first error seen.
    final class Outcomes: Sendable {
        let ready = Tally()
        let settled = Tally()
        let dropped = Tally()
        let release = Tally()
        private let firstError = FirstError()
        private let latencies = Mutex(Histogram<UInt64>(highestTrackableValue: 60_000_000))

        func failed(_ description: String) {
            firstError.record(description)
            settled.add()
        }
        func connected(after microseconds: UInt64) {
            _ = latencies.withLock { $0.record(microseconds) }
            ready.add()
            settled.add()
        }
        var error: String? { firstError.value }
        var readyLatencies: Histogram<UInt64> { latencies.withLock { $0 } }
    }

    func run(on server: BenchServer) async throws -> BenchResult {
        let limit = Self.descriptorLimit
        let count = self.count ?? min(100_000, limit - Self.reservedDescriptors)
        guard count > 0, count <= limit - Self.reservedDescriptors else {
            throw LatencyScenario.Failure(
                description: "\(count) connections need more than the open-file limit of \(limit) (ulimit -n) allows, less \(Self.reservedDescriptors) kept for the server's own files")
        }
        let run = server.run
        return try await server.session(
            extraArguments: ["--host", "0.0.0.0", "--platform-rate", "100000"],
            seedStore: { directory, app in
                let store = try DataDirectory(path: directory.path).openStore(environmentKey: nil)
                try await BenchServer.concurrently(count) { index in
                    _ = try await store.putUser(UserID(rawValue: "\(run)c\(index)")!, profile: UserProfile(), in: app)
                }
                try await store.close()
            },
            seedAPI: { api in
                try await BenchServer.concurrently(count, width: 64) { index in
                    try await api.call(.PUT, "/v1/users/\(api.user("c\(index)"))", body: "{}", expect: [200, 201])
                }
            }
        ) { target, api, _ in
            try await measure(count: count, limit: limit, target: target, api: api)
        }
    }

    private func measure(count: Int, limit: Int, target: BenchTarget, api: BenchAPI) async throws -> BenchResult {
        let tokens = Mutex([String](repeating: "", count: count))
        try await BenchServer.concurrently(count, width: 64) { index in
            let token = try await api.token(api.user("c\(index)"))
            tokens.withLock { $0[index] = token }
        }
        let issued = tokens.withLock { $0 }
        // Each user authenticates once over HTTP first: what the server keeps per user (their token's
        // key, their record) is then in the memory before, and the growth is the sockets' alone.
        try await BenchServer.concurrently(count, width: 64) { index in
            try await api.call(.GET, "/v1/me/channels", bearer: issued[index], expect: [200])
        }
        let outcomes = Outcomes()
        let rssBefore = target.residentBytes()
        let serverCPUBefore = target.usage()
        let ownCPUBefore = ProcessUsage.ownCPUSeconds()
        let started = ContinuousClock.now
        var connectSeconds = 0.0
        var rssHeld: Double?
        var gauge: Int?
        // The benchmark's own server listens on 0.0.0.0, so the sockets spread over 127.0.0.1–.N; a
        // given server is reached at its own address.
        let spread = !target.processIdentifiers.isEmpty
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                if index >= inFlight { await outcomes.settled.wait(atLeast: index - inFlight + 1) }
                let url = target.realtimeURL(host: spread ? "127.0.0.\(1 + index % addresses)" : nil)
                group.addTask { await Self.hold(url: url, token: issued[index], outcomes: outcomes) }
            }
            await outcomes.settled.wait(atLeast: count)
            connectSeconds = (ContinuousClock.now - started).seconds
            if outcomes.error == nil {
                try? await Task.sleep(for: hold)
                rssHeld = target.residentBytes()
                gauge = try? await Self.gauge(api: api)
            }
            outcomes.release.add()
        }
        let ownCPU = ProcessUsage.ownCPUSeconds() - ownCPUBefore
        if let error = outcomes.error {
            throw LatencyScenario.Failure(description: "\(outcomes.ready.count) of \(count) sockets said ready; first failure: \(error)")
        }
        guard outcomes.dropped.count == 0 else {
            throw LatencyScenario.Failure(description: "\(outcomes.dropped.count) of \(count) sockets were closed by the server while held")
        }
        // A given server may hold other clients' sockets too.
        guard let gauge, spread ? gauge == count : gauge >= count else {
            throw LatencyScenario.Failure(description: "herald_realtime_connections is \(gauge.map(String.init) ?? "missing"), expected \(count)")
        }
        var memory: [(String, Double)] = []
        if let rssBefore, let rssHeld {
            let perConnection = ((rssHeld - rssBefore) / Double(count)).rounded()
            memory = [("server_rss_before_bytes", rssBefore), ("server_rss_held_bytes", rssHeld), ("server_bytes_per_connection", perConnection)]
        }
        return BenchResult(
            scenario: "connections",
            parameters: [
                ("connections", "\(count)"), ("loopback_addresses", spread ? "\(addresses)" : "1 (the given server's)"), ("open_file_limit", "\(limit)"),
                ("held_seconds", "\(Int(hold.components.seconds))"), ("build", PushScenario.build),
            ],
            figures: [("connects_per_second", Double(count) / connectSeconds)] + memory
                + [("bench_rss_bytes", ProcessUsage.residentBytes(pid: getpid()) ?? 0)]
                + BenchResult.latencies("ready", outcomes.readyLatencies) + target.cpuFigures(since: serverCPUBefore, bench: ownCPU))
    }

    /// One socket: connect, wait for `ready`, then hold it (its handler answers the server's pings)
    /// until released. A socket the server closes before the release counts as dropped; each socket
    /// settles once: ready, failed to connect, or closed before ready.
    private static func hold(url: String, token: String, outcomes: Outcomes) async {
        let start = ContinuousClock.now
        let isReady = Tally()
        let socket: BenchWebSocket
        do {
            socket = try await BenchWebSocket.connect(url: url, token: token, maxFrameSize: 1 << 16) { frame, _ in
                guard frame.kind == .ready, isReady.count == 0 else { return }
                isReady.add()
                outcomes.connected(after: UInt64((ContinuousClock.now - start).microseconds))
            }
        } catch {
            outcomes.failed("\(error)")
            return
        }
        socket.channel.closeFuture.whenComplete { _ in
            guard outcomes.release.count == 0 else { return }
            if isReady.count > 0 { outcomes.dropped.add() } else { outcomes.failed("closed before ready") }
        }
        await outcomes.release.wait(atLeast: 1)
        socket.close()
        await socket.closed()
    }

    /// `herald_realtime_connections` from `/metrics`.
    private static func gauge(api: BenchAPI) async throws -> Int? {
        let text = String(decoding: try await api.call(.GET, "/metrics", expect: [200]), as: UTF8.self)
        let line = text.split(separator: "\n").first { $0.hasPrefix("herald_realtime_connections ") }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }.map { Int($0) }
    }
}
