import Foundation
import HeraldCore
import HeraldTestSupport

/// The server a scenario drives: by default a real `herald serve` on a temporary data directory with
/// one app, for the duration of the scenario; with `--url` and `--api-key`, a server that already
/// runs. The disk's fsync latency is measured first, in the data directory (or, for a given server,
/// in this machine's temporary directory, which the result says).
struct BenchServer: Sendable {
    /// `--url` and `--api-key`, when given.
    let given: (url: URL, apiKey: String)?

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
        let (status, output) = try HeraldProcess.command(["apps", "create", "--name", "Bench", "--data", directory.path, "--json"])
        guard status == 0, case .object(let created)? = try? JSONValue.parse(Data(output.utf8)), case .string(let apiKey)? = created["apiKey"],
            case .string(let appText)? = created["appId"], let app = AppID(rawValue: appText)
        else {
            throw LatencyScenario.Failure(description: "herald apps create failed: \(output)")
        }
        try await seedStore(directory, app)
        let server = try await HeraldProcess.start(data: directory, extraArguments: ["--log-level", "notice"] + extraArguments)
        do {
            let target = BenchTarget(host: "127.0.0.1", port: server.port, processIdentifier: server.processIdentifier)
            let result = try await body(target, BenchAPI(base: target.baseURL, apiKey: apiKey, run: run), fsync)
            _ = await server.stop(with: SIGTERM)
            return result
        } catch {
            _ = await server.stop(with: SIGKILL)
            throw error
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

/// Where a scenario's sockets go, and the server's process when the benchmark started it (its CPU and
/// memory are then reported; a given server's are not visible).
struct BenchTarget: Sendable {
    let host: String
    let port: Int
    let processIdentifier: Int32?

    init(host: String, port: Int, processIdentifier: Int32?) {
        self.host = host
        self.port = port
        self.processIdentifier = processIdentifier
    }

    /// The durability mode, for the result: the benchmark's own server runs with the default.
    var durability: String { processIdentifier == nil ? "as configured on the given server" : "full (fsync per commit)" }

    /// A given server: `http://HOST:PORT` (TLS is not supported by the benchmark's clients).
    init(url: URL) throws {
        guard url.scheme == "http", let host = url.host else {
            throw LatencyScenario.Failure(description: "--url must be http://HOST[:PORT], not \(url.absoluteString)")
        }
        self.init(host: host, port: url.port ?? 80, processIdentifier: nil)
    }

    var baseURL: String { "http://\(host):\(port)" }

    func realtimeURL(host: String? = nil) -> String { "ws://\(host ?? self.host):\(port)/v1/realtime" }

    func cpuSeconds() -> Double? { processIdentifier.flatMap(ProcessUsage.cpuSeconds(pid:)) }

    func residentBytes() -> Double? { processIdentifier.flatMap(ProcessUsage.residentBytes(pid:)) }

    /// `server_cpu_seconds` since `before`, or nothing for a given server.
    func cpuFigures(since before: Double?) -> [(String, Double)] {
        guard let before, let now = cpuSeconds() else { return [] }
        return [("server_cpu_seconds", now - before)]
    }
}
