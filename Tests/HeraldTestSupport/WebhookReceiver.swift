public import Foundation
public import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// A real HTTP server on loopback that plays a business's webhook endpoint (or an OpenTelemetry
/// collector's OTLP/HTTP one): it records what it receives and answers with the statuses it is given,
/// in order (then 200).
public final class WebhookReceiver: Sendable {
    public struct Received: Sendable {
        public var headers: HTTPFields
        public var body: Data

        public func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
    }

    private let statuses: Mutex<[Int]>
    private let received = AsyncStream<Received>.makeStream()
    private let receivedSoFar = Mutex<[Received]>([])
    private let boundPort = Mutex(0)
    private let path: String

    public var port: Int { boundPort.withLock { $0 } }

    /// Everything received until now, in order.
    public var all: [Received] { receivedSoFar.withLock { $0 } }

    private init(statuses: [Int], path: String) {
        self.statuses = Mutex(statuses)
        self.path = path
    }

    /// The next request it receives.
    public func next() async -> Received? {
        var iterator = received.stream.makeAsyncIterator()
        return await iterator.next()
    }

    public var url: String { "http://127.0.0.1:\(port)\(path)" }

    public static func with<T: Sendable>(
        statuses: [Int] = [], path: String = "/hooks/herald", _ body: @Sendable (WebhookReceiver) async throws -> T
    ) async throws -> T {
        let receiver = WebhookReceiver(statuses: statuses, path: path)
        let router = Router()
        router.post(RouterPath(path)) { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 1 << 22)
            let received = Received(headers: request.headers, body: Data(buffer: bytes))
            receiver.receivedSoFar.withLock { $0.append(received) }
            receiver.received.continuation.yield(received)
            let status = receiver.statuses.withLock { $0.isEmpty ? 200 : $0.removeFirst() }
            return Response(status: .init(code: status))
        }
        let ports = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in ports.continuation.yield(channel.localAddress?.port ?? 0) })
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await app.runService(gracefulShutdownSignals: [])
                return nil
            }
            var iterator = ports.stream.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            receiver.boundPort.withLock { $0 = port }
            let result = try await body(receiver)
            group.cancelAll()
            return result
        }
    }
}
