import AsyncHTTPClient
import Foundation
import HeraldCore
import HeraldStore
import NIOCore
import NIOHTTP1
import HeraldPush

/// Delivers webhook messages over HTTPS, signed the Standard Webhooks way.
///
/// Redirects are not followed (a redirect could lead to an internal address), the body of the answer
/// is not read beyond 4 KiB, and unless the operator allows private targets, the host's addresses
/// are resolved and checked before each attempt (`OutboundTargetGuard`, against SSRF).
final class WebhookSender: Sendable {
    struct Attempt: Sendable {
        var statusCode: Int?
        var error: String?
        var durationMilliseconds: Int
        var isSuccess: Bool { statusCode.map { (200..<300).contains($0) } ?? false }
    }

    private let client: HTTPClient
    private let targets: OutboundTargetGuard
    private let now: @Sendable () -> Date

    init(allowsPrivateTargets: Bool, now: @escaping @Sendable () -> Date) {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(10)))
        configuration.decompression = .disabled
        // No spans and no `traceparent` header on a business's endpoint: traces stay inside Herald
        // (the client would otherwise take the process's tracer, bootstrapped for `--otlp-traces-endpoint`).
        configuration.tracing.tracer = nil
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        targets = OutboundTargetGuard(allowsPrivateTargets: allowsPrivateTargets)
        self.now = now
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    /// One attempt to deliver `body` as message `id` to `url`.
    func deliver(id: String, body: Data, to url: String, secret: String) async -> Attempt {
        let start = ContinuousClock.now
        func finish(_ status: Int?, _ error: String?) -> Attempt {
            let elapsed = ContinuousClock.now - start
            return Attempt(statusCode: status, error: error, durationMilliseconds: Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000))
        }
        guard let host = URLComponents(string: url)?.host else { return finish(nil, "invalid URL") }
        do {
            try await targets.check(host: host)
        } catch {
            return finish(nil, "\(error)")
        }
        let timestamp = Int64(now().timeIntervalSince1970)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "user-agent", value: "Herald-Webhooks/1")
        request.headers.add(name: "webhook-id", value: id)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        request.headers.add(name: "webhook-signature", value: WebhookSignature(secret: secret).sign(id: id, timestamp: timestamp, body: body))
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .seconds(15))
            _ = try? await response.body.collect(upTo: 4 * 1024)
            return finish(Int(response.status.code), nil)
        } catch {
            return finish(nil, String(describing: error).prefix(200).description)
        }
    }
}
