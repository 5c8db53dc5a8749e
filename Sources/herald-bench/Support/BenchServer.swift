import Foundation
import HeraldCore
import HeraldTestSupport

/// A real `herald serve` on a temporary data directory with one app, for the duration of a scenario;
/// the disk's fsync latency is measured in the same directory first.
enum BenchServer {
    /// - Parameter seed: runs on the data directory before the server starts (the app exists by then),
    ///   to write large fixtures through the store rather than through a million round trips.
    static func with<T>(
        extraArguments: [String] = [], seed: (_ directory: URL, _ app: AppID) async throws -> Void = { _, _ in },
        _ body: (HeraldProcess, BenchAPI, _ fsyncMilliseconds: Double) async throws -> T
    ) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fsync = try FsyncProbe.measure(in: directory)
        let (status, output) = try HeraldProcess.command(["apps", "create", "--name", "Bench", "--data", directory.path, "--json"])
        guard status == 0, case .object(let created)? = try? JSONValue.parse(Data(output.utf8)), case .string(let apiKey)? = created["apiKey"],
            case .string(let appText)? = created["appId"], let app = AppID(rawValue: appText)
        else {
            throw LatencyScenario.Failure(description: "herald apps create failed: \(output)")
        }
        try await seed(directory, app)
        let server = try await HeraldProcess.start(data: directory, extraArguments: ["--log-level", "notice"] + extraArguments)
        do {
            let result = try await body(server, BenchAPI(base: server.baseURL, apiKey: apiKey), fsync)
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
