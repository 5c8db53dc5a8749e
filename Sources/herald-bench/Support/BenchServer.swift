import Foundation
import HeraldCore
import HeraldStore
import HeraldLoopback

/// The server a scenario drives: by default a real `herald serve` on a temporary data directory with
/// one app, for the duration of the scenario; with `--url` and `--api-key`, a server that already
/// runs. The disk's fsync latency is measured first, in the data directory (or, for a given server,
/// in this machine's temporary directory, which the result says).
struct BenchServer: Sendable {
    /// `--url` and `--api-key`, when given.
    let given: (url: URL, apiKey: String)?
    /// `--database`: own servers run on fresh databases of this PostgreSQL server (dropped afterwards).
    var database: PostgresURL?
    /// `--nodes`: how many own servers, one cluster on `database`.
    var nodes = 1

    var isGiven: Bool { given != nil }

    /// Every user, channel and segment a run creates carries this prefix, so runs against a given
    /// server never meet each other's data.
    let run = "b" + RandomToken.base32(byteCount: 4) + "-"

    /// Where fsync was measured, for the result's parameters.
    var fsyncMeasuredIn: String { isGiven ? "this machine's temporary directory (the server's disk is not visible)" : "the server's data directory" }

    /// - Parameters:
    ///   - extraArguments: for an own server only.
    ///   - seedStore: writes large fixtures through the store before an own server starts (the app
    ///     exists by then), rather than through a million round trips.
    ///   - seedAPI: the same fixtures through the Platform API, for a given server.
    func session<T>(
        extraArguments: [String] = [], seedStore: (_ directory: URL, _ app: AppID) async throws -> Void = { _, _ in },
        seedAPI: (BenchAPI) async throws -> Void = { _ in }, _ body: (BenchTarget, BenchAPI, _ fsyncMilliseconds: Double) async throws -> T
    ) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fsync = try FsyncProbe.measure(in: directory)
        if let given {
            let target = try BenchTarget(url: given.url)
            let api = BenchAPI(base: target.baseURL, apiKey: given.apiKey, run: run)
            try await seedAPI(api)
            return try await body(target, api, fsync)
        }
        if let database { return try await clusterSession(on: database, extraArguments: extraArguments, seedAPI: seedAPI, fsync: fsync, body) }
        let (status, output) = try HeraldProcess.command(["apps", "create", "--name", "Bench", "--data", directory.path, "--json"])
        let (app, apiKey) = try Self.created(status, output)
        try await seedStore(directory, app)
        let server = try await HeraldProcess.start(data: directory, extraArguments: ["--log-level", "notice"] + extraArguments)
        do {
            let target = BenchTarget(host: "127.0.0.1", ports: [server.port], processIdentifiers: [server.processIdentifier], durability: "full (fsync per commit)",
                storesLocally: true)
            let result = try await body(target, BenchAPI(base: target.baseURL, apiKey: apiKey, run: run), fsync)
            _ = await server.stop(with: SIGTERM)
            return result
        } catch {
            _ = await server.stop(with: SIGKILL)
            throw error
        }
    }

    /// `nodes` servers on fresh databases of `server`, one cluster; fixtures through the Platform API.
    private func clusterSession<T>(
        on server: PostgresURL, extraArguments: [String], seedAPI: (BenchAPI) async throws -> Void, fsync: Double,
        _ body: (BenchTarget, BenchAPI, _ fsyncMilliseconds: Double) async throws -> T
    ) async throws -> T {
        let url = server.with(database: "bench_" + run.filter { $0.isLetter || $0.isNumber }.lowercased())
        try await PostgresAdmin.createDatabases(for: url, via: server)
        let masterKey = MasterKey.generate().base64
        let text = "postgres://\(url.username)\(url.password.map { ":" + $0 } ?? "")@\(url.host):\(url.port)/\(url.database)"
        var processes: [HeraldProcess] = []
        do {
            let (status, output) = try HeraldProcess.command(
                ["apps", "create", "--name", "Bench", "--database", text, "--json"], environment: ["HERALD_MASTER_KEY": masterKey])
            let (_, apiKey) = try Self.created(status, output)
            for _ in 0..<nodes {
                processes.append(try await HeraldProcess.start(database: text, masterKey: masterKey, extraArguments: ["--log-level", "notice"] + extraArguments))
            }
            let target = BenchTarget(
                host: "127.0.0.1", ports: processes.map(\.port), processIdentifiers: processes.map(\.processIdentifier),
                durability: "PostgreSQL, synchronous_commit as the server has it (on by default)")
            let api = BenchAPI(base: target.baseURL, apiKey: apiKey, run: run)
            try await seedAPI(api)
            let result = try await body(target, api, fsync)
            for process in processes { _ = await process.stop(with: SIGTERM) }
            try? await PostgresAdmin.dropDatabases(for: url, via: server)
            return result
        } catch {
            for process in processes { _ = await process.stop(with: SIGKILL) }
            try? await PostgresAdmin.dropDatabases(for: url, via: server)
            throw error
        }
    }

    private static func created(_ status: Int32, _ output: String) throws -> (AppID, String) {
        guard status == 0, case .object(let created)? = try? JSONValue.parse(Data(output.utf8)), case .string(let apiKey)? = created["apiKey"],
            case .string(let appText)? = created["appId"], let app = AppID(rawValue: appText)
        else {
            throw LatencyScenario.Failure(description: "herald apps create failed: \(output)")
        }
        return (app, apiKey)
    }

    /// `clients` loops, each with its own HTTP connection to `target`, making `request` again and again
    /// until `duration` is over, recording the time each call returns (what the scenario times: its
    /// request, without checking the answer); returns how many calls were made in all.
    static func timedRequests(
        clients: Int, to target: BenchTarget, for duration: Duration, recorder: LatencyScenario.Recorder,
        _ request: @escaping @Sendable (BenchHTTPConnection) async throws -> Duration
    ) async throws -> Int {
        var connections: [BenchHTTPConnection] = []
        defer { for connection in connections { connection.close() } }
        for _ in 0..<clients { connections.append(try await BenchHTTPConnection.connect(host: target.host, port: target.port)) }
        let deadline = ContinuousClock.now + duration
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for connection in connections {
                group.addTask {
                    var calls = 0
                    while ContinuousClock.now < deadline {
                        recorder.ack(UInt64(try await request(connection).microseconds))
                        calls += 1
                    }
                    return calls
                }
            }
            return try await group.reduce(0, +)
        }
    }

    /// Runs `body(index)` for 0..<count, `width` at a time: seeding through the store's group commit,
    /// which batches the concurrent writes.
    static func concurrently(_ count: Int, width: Int = 512, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        var done = 0
        while done < count {
            let end = min(count, done + width)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in done..<end { group.addTask { try await body(index) } }
                try await group.waitForAll()
            }
            done = end
        }
    }
}

/// Where a scenario's sockets go, and the servers' processes when the benchmark started them (their
/// CPU and memory are then reported; a given server's are not visible). Several ports are the nodes of
/// a cluster (`--nodes`).
struct BenchTarget: Sendable {
    let host: String
    let ports: [Int]
    let processIdentifiers: [Int32]
    /// The durability mode, for the result.
    let durability: String
    /// Whether the servers write their own store (the embedded SQLite): only then are their bytes
    /// written the store's.
    let storesLocally: Bool

    var port: Int { ports[0] }

    init(host: String, ports: [Int], processIdentifiers: [Int32], durability: String, storesLocally: Bool = false) {
        self.host = host
        self.ports = ports
        self.processIdentifiers = processIdentifiers
        self.durability = durability
        self.storesLocally = storesLocally
    }

    /// A given server: `http://HOST:PORT` (TLS is not supported by the benchmark's clients).
    init(url: URL) throws {
        guard url.scheme == "http", let host = url.host else {
            throw LatencyScenario.Failure(description: "--url must be http://HOST[:PORT], not \(url.absoluteString)")
        }
        self.init(host: host, ports: [url.port ?? 80], processIdentifiers: [], durability: "as configured on the given server")
    }

    var baseURL: String { "http://\(host):\(port)" }

    func realtimeURL(host: String? = nil) -> String { "ws://\(host ?? self.host):\(port)/v1/realtime" }

    /// The realtime URL of node `index` modulo the number of nodes, to spread sockets over a cluster.
    func realtimeURL(node index: Int) -> String { "ws://\(host):\(ports[index % ports.count])/v1/realtime" }

    /// The servers' CPU seconds and bytes written to storage (nil where `/proc/PID/io` cannot be read),
    /// summed over the nodes; nil for a given server.
    func usage() -> ServerUsage? {
        let cpu = processIdentifiers.compactMap(ProcessUsage.cpuSeconds(pid:))
        guard !cpu.isEmpty else { return nil }
        let written = processIdentifiers.map(ProcessUsage.writtenBytes(pid:))
        return ServerUsage(cpuSeconds: cpu.reduce(0, +), writtenBytes: written.contains(nil) ? nil : written.compactMap { $0 }.reduce(0, +))
    }

    /// The servers' resident memory, summed over the nodes; nil for a given server.
    func residentBytes() -> Double? {
        let figures = processIdentifiers.compactMap(ProcessUsage.residentBytes(pid:))
        return figures.isEmpty ? nil : figures.reduce(0, +)
    }

    /// `server_cpu_seconds` since `before` (nothing for a given server), the benchmark's own CPU seconds
    /// over the same window, and `client_bound`: 1 when the benchmark used at least as much CPU as the
    /// server. Both share the machine's cores, so a run where the client took half or more could not
    /// have given the server all it could use: its figures measure the client as much as the server.
    /// `server_written_bytes`: what a server with its own store sent to storage meanwhile (the WAL, the
    /// checkpoints), a figure the machine's noise does not move; left out on PostgreSQL, whose writes
    /// are another process's.
    func cpuFigures(since before: ServerUsage?, bench: Double) -> [(String, Double)] {
        guard let before, let now = usage() else { return [("bench_cpu_seconds", bench)] }
        let server = now.cpuSeconds - before.cpuSeconds
        var figures = [("server_cpu_seconds", server), ("bench_cpu_seconds", bench), ("client_bound", bench >= server ? 1 : 0)]
        if storesLocally, let written = now.writtenBytes, let writtenBefore = before.writtenBytes {
            figures.append(("server_written_bytes", written - writtenBefore))
        }
        return figures
    }
}

/// What the benchmark's servers used so far: CPU, and bytes written to storage (`/proc/PID/io`).
struct ServerUsage {
    var cpuSeconds: Double
    var writtenBytes: Double?
}
