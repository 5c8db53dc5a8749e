public import Foundation
public import HTTPTypes
public import Hummingbird
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOHTTP2
import ServiceLifecycle
import Synchronization

/// A request as a loopback provider saw it: whether it came over HTTP/2, and its head and body.
public struct ReceivedRequest: Sendable {
    public var isHTTP2: Bool
    public var method: HTTPRequest.Method
    public var path: String
    public var headers: HTTPFields
    public var body: Data

    public func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { headers[$0] } }
}

/// A scripted answer.
public struct ScriptedResponse: Sendable {
    public var status: HTTPResponse.Status
    public var headers: HTTPFields
    public var body: Data

    public init(_ status: HTTPResponse.Status, headers: HTTPFields = [:], json: String = "") {
        self.status = status
        self.headers = headers
        self.body = Data(json.utf8)
        if !json.isEmpty { self.headers[.contentType] = "application/json" }
    }
}

/// The request context of the loopback servers: keeps the channel, to tell an HTTP/2 stream (which
/// has a stream id) from an HTTP/1 connection.
public struct LoopbackContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// An HTTPS server on 127.0.0.1 speaking HTTP/2 (ALPN `h2`, HTTP/1.1 as fallback), with a certificate
/// from `TestCertificates`. Every request is recorded and answered by `handle`, which plays the
/// provider: it checks what a real provider checks and scripts what it answers.
public final class LoopbackHTTPSServer: Sendable {
    public typealias Handler = @Sendable (ReceivedRequest) async -> ScriptedResponse

    private let received = Mutex<[ReceivedRequest]>([])
    private let waiters = Mutex<[(count: Int, continuation: CheckedContinuation<Void, Never>)]>([])
    public let port: Int

    private init(port: Int) {
        self.port = port
    }

    public var baseURL: URL { URL(string: "https://127.0.0.1:\(port)")! }
    public var requests: [ReceivedRequest] { received.withLock { $0 } }

    /// Waits until at least `count` requests arrived (no timeout of its own: tests bound it).
    public func waitForRequests(_ count: Int) async {
        await withCheckedContinuation { continuation in
            let isDone = received.withLock { $0.count >= count }
            if isDone { return continuation.resume() }
            waiters.withLock { $0.append((count, continuation)) }
            // Re-check: a request may have arrived between the two locks.
            if received.withLock({ $0.count >= count }) { resumeWaiters() }
        }
    }

    private func record(_ request: ReceivedRequest) {
        received.withLock { $0.append(request) }
        resumeWaiters()
    }

    private func resumeWaiters() {
        let count = received.withLock { $0.count }
        let ready = waiters.withLock { waiters -> [CheckedContinuation<Void, Never>] in
            let (done, waiting) = (waiters.filter { $0.count <= count }, waiters.filter { $0.count > count })
            waiters = waiting
            return done.map(\.continuation)
        }
        for continuation in ready { continuation.resume() }
    }

    /// Runs a server for the duration of `body`.
    public static func run<T: Sendable>(
        certificates: TestCertificates, handle: @escaping Handler, _ body: @Sendable (LoopbackHTTPSServer) async throws -> T
    ) async throws -> T {
        let router = Router(context: LoopbackContext.self)
        let box = Mutex<LoopbackHTTPSServer?>(nil)
        let handler: @Sendable (Request, LoopbackContext) async throws -> Response = { request, context in
            let isHTTP2 = (try? await context.channel.getOption(HTTP2StreamChannelOptions.streamID).get()) != nil
            let bytes = try await request.body.collect(upTo: 1 << 20)
            let received = ReceivedRequest(
                isHTTP2: isHTTP2, method: request.method, path: request.uri.path, headers: request.headers, body: Data(bytes.readableBytesView))
            box.withLock { $0 }?.record(received)
            let answer = await handle(received)
            return Response(status: answer.status, headers: answer.headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        router.post("**", use: handler)
        var logger = Logger(label: "loopback-https")
        logger.logLevel = .critical
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, server: try .http2Upgrade(tlsConfiguration: certificates.serverTLS),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            }, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: logger))
            group.addTask { try await serviceGroup.run() }
            var iterator = portStream.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            let server = LoopbackHTTPSServer(port: port)
            box.withLock { $0 = server }
            do {
                let result = try await body(server)
                await serviceGroup.triggerGracefulShutdown()
                try await group.waitForAll()
                return result
            } catch {
                await serviceGroup.triggerGracefulShutdown()
                try? await group.waitForAll()
                throw error
            }
        }
    }
}
