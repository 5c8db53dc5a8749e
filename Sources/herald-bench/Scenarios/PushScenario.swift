import AsyncHTTPClient
import Foundation
import HeraldCore
import HeraldLoopback
import Histogram
import NIOCore
import NIOHTTP1
import Synchronization

/// One security notification to `count` offline users, each with one Web Push subscription at a
/// loopback push service (HTTP/2 over TLS, in this process) that checks the VAPID signature and
/// decrypts every payload as a browser would.
///
/// Figures: the rate the push worker sustains (first to last push), the time from the commit (the
/// `201` of the send) to each push, which includes the 2 s grace that lets live delivery settle
/// first, and the CPU seconds of the server and of this tool. Fails when a push is missing,
/// duplicated, or does not decrypt.
struct PushScenario {
    let count: Int

    #if DEBUG
    static let build = "debug (figures are not representative)"
    #else
    static let build = "release"
    #endif

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func run() async throws -> BenchResult {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificates = try TestCertificates(directory: directory)
        let receiver = FakeWebPushReceiver()
        let origin = Mutex("")
        let arrivals = Arrivals()
        let inner = receiver.handler(origin: { origin.withLock { $0 } })
        let handle: LoopbackHTTPSServer.Handler = { request in
            let response = await inner(request)
            arrivals.record()
            return response
        }
        return try await LoopbackHTTPSServer.run(certificates: certificates, handle: handle) { pushService in
            origin.withLock { $0 = pushService.baseURL.absoluteString }
            let (status, output) = try HeraldProcess.command(["apps", "create", "--name", "Bench", "--data", directory.path, "--json"])
            guard status == 0, case .object(let created)? = try? JSONValue.parse(Data(output.utf8)), case .string(let apiKey)? = created["apiKey"] else {
                throw Failure(description: "herald apps create failed: \(output)")
            }
            let server = try await HeraldProcess.start(
                data: directory, extraArguments: ["--allow-private-targets", "--extra-ca-file", certificates.caFile, "--log-level", "notice"])
            do {
                let result = try await measure(server: server, apiKey: apiKey, pushService: pushService, receiver: receiver, arrivals: arrivals)
                _ = await server.stop(with: SIGTERM)
                return result
            } catch {
                _ = await server.stop(with: SIGKILL)
                throw error
            }
        }
    }

    private func measure(
        server: HeraldProcess, apiKey: String, pushService: LoopbackHTTPSServer, receiver: FakeWebPushReceiver, arrivals: Arrivals
    ) async throws -> BenchResult {
        let client = HTTPClient.shared
        let base = server.baseURL
        // Users with a subscription each, 16 at a time.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    for index in stride(from: worker, to: count, by: 16) {
                        let name = "bench-\(index)"
                        try await call(client, .PUT, "\(base)/v1/users/\(name)", key: apiKey, body: #"{"metadata":{"bench":"push"}}"#, expect: [200, 201])
                        let issued = try await call(client, .POST, "\(base)/v1/users/\(name)/tokens", key: apiKey, expect: [201])
                        guard case .object(let fields)? = try? JSONValue.parse(issued), case .string(let token)? = fields["token"] else {
                            throw Failure(description: "no token")
                        }
                        let subscription =
                            #"{"platform":"webpush","subscription":{"endpoint":"\#(pushService.baseURL.absoluteString)/push/\#(name)","keys":{"p256dh":"\#(receiver.p256dh)","auth":"\#(receiver.authBase64URL)"}}}"#
                        try await call(client, .POST, "\(base)/v1/me/devices", key: token, body: subscription, expect: [201])
                    }
                }
            }
            try await group.waitForAll()
        }

        let serverCPUBefore = ProcessUsage.cpuSeconds(pid: server.processIdentifier) ?? 0
        let ownCPUBefore = ProcessUsage.ownCPUSeconds()
        try await call(
            client, .POST, "\(base)/v1/notifications", key: apiKey,
            body: #"{"segment":{"metadata":{"bench":"push"}},"category":"security","content":{"title":"Sign-in from a new phone","body":"Was it you?"}}"#,
            expect: [201])
        let committed = ContinuousClock.now
        let arrived = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await pushService.waitForRequests(count)
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(max(120, count / 50)))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        guard arrived else { throw Failure(description: "only \(receiver.received.count) of \(count) pushes arrived") }
        let serverCPU = (ProcessUsage.cpuSeconds(pid: server.processIdentifier) ?? 0) - serverCPUBefore
        let ownCPU = ProcessUsage.ownCPUSeconds() - ownCPUBefore
        let memory = ProcessUsage.residentBytes(pid: server.processIdentifier) ?? 0

        // Exactly once: every user's push decrypted, none twice, nothing refused, nothing late.
        try await Task.sleep(for: .seconds(3))
        let received = receiver.received
        guard receiver.violations.all.isEmpty else { throw Failure(description: "the push service refused: \(receiver.violations.all.prefix(3))") }
        guard received.count == count, Set(received.map(\.path)).count == count else {
            throw Failure(description: "\(received.count) pushes for \(Set(received.map(\.path)).count) of \(count) users")
        }

        let times = arrivals.times.sorted()
        var histogram = Histogram<UInt64>(highestTrackableValue: 600_000_000)
        for time in times { _ = histogram.record(UInt64(max(0, (time - committed).microseconds))) }
        let span = (times.last! - times.first!).seconds
        return BenchResult(
            scenario: "push",
            parameters: [("recipients", "\(count)"), ("platform", "webpush (HTTP/2, TLS, aes128gcm, VAPID)"), ("grace_ms", "2000"), ("build", Self.build)],
            figures: [
                ("pushes_per_second", span > 0 ? Double(count - 1) / span : Double(count)),
                ("first_push_ms", (times.first! - committed).milliseconds),
                ("last_push_ms", (times.last! - committed).milliseconds),
            ] + BenchResult.latencies("commit_to_push", histogram) + [
                ("server_cpu_seconds", serverCPU), ("bench_cpu_seconds", ownCPU), ("server_rss_bytes", memory),
            ])
    }

    @discardableResult
    private func call(_ client: HTTPClient, _ method: HTTPMethod, _ url: String, key: String, body: String? = nil, expect: Set<Int>) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        guard expect.contains(Int(response.status.code)) else {
            throw Failure(description: "\(method) \(url) answered \(response.status.code): \(String(buffer: bytes))")
        }
        return Data(bytes.readableBytesView)
    }
}

/// When each push reached the push service.
final class Arrivals: Sendable {
    private let list = Mutex<[ContinuousClock.Instant]>([])
    func record() { list.withLock { $0.append(.now) } }
    var times: [ContinuousClock.Instant] { list.withLock { $0 } }
}

extension Duration {
    var milliseconds: Double { seconds * 1000 }
    var microseconds: Int64 { components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000 }
}
