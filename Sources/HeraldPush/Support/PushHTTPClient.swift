public import AsyncHTTPClient
public import Foundation
import NIOCore
public import NIOHTTP1
import NIOSSL

/// The one HTTP client the push providers share: HTTP/2 where the provider offers it (APNs requires
/// it; connections are kept and multiplexed), TLS with the system roots plus the operator's
/// `--extra-ca-file`, no redirects, bounded answers, and the SSRF guard before every request.
public final class PushHTTPClient: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: Data

        /// `Retry-After` in seconds (a number or an HTTP date), when given.
        public func retryAfter(now: Date) -> TimeInterval? {
            guard let value = headers.first(name: "retry-after")?.trimmingCharacters(in: .whitespaces) else { return nil }
            if let seconds = TimeInterval(value) { return max(0, seconds) }
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
            return formatter.date(from: value).map { max(0, $0.timeIntervalSince(now)) }
        }
    }

    let client: HTTPClient
    public let targets: OutboundTargetGuard

    /// - Parameter extraCAFile: a PEM file of more trusted roots (for test or regional providers).
    public init(allowsPrivateTargets: Bool, extraCAFile: String? = nil) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let extraCAFile {
            tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(extraCAFile))]
        }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(15)))
        configuration.httpVersion = .automatic
        configuration.decompression = .disabled
        // No spans and no `traceparent` header towards Apple, Google or a browser's push service.
        configuration.tracing.tracer = nil
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        targets = OutboundTargetGuard(allowsPrivateTargets: allowsPrivateTargets)
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    /// One request; the answer's body is read up to 64 KiB. Throws for a refused target or a
    /// transport failure (no answer).
    public func send(_ method: HTTPMethod, _ url: URL, headers: [(String, String)], body: Data?) async throws -> Response {
        try await targets.check(url)
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: .seconds(20))
        let bytes = try await response.body.collect(upTo: 64 * 1024)
        return Response(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
    }
}
