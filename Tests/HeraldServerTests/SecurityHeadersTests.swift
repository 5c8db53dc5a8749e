import Foundation
@testable import HeraldServer
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Security headers")
struct SecurityHeadersTests {
    @Test("Every response, errors included, forbids sniffing, framing, referrers and caching; public key sets may be cached")
    func headersOnEveryResponse() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let responses = [
                    try await client.request(.get, "/health"),
                    try await client.request(.get, "/v1/users/ana", auth: harness.apiKey),
                    try await client.request(.get, "/v1/users/ana"),
                    try await client.request(.get, "/v1/nowhere", auth: harness.apiKey),
                    try await client.request(.post, "/v1/channels", auth: harness.apiKey, body: "{"),
                ]
                for response in responses {
                    #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(response.status)")
                    #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
                    #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
                    #expect(response.headers[.contentSecurityPolicy] == "default-src 'none'; frame-ancestors 'none'")
                    #expect(response.headers[.cacheControl] == "no-store")
                    #expect(response.headers[.strictTransportSecurity] == nil, "HSTS only over TLS")
                }
                let keys = try await client.request(.get, "/v1/apps/\(harness.app)/keys")
                #expect(keys.headers[.cacheControl] == "public, max-age=300")
            }
        }
    }
}

@Suite("Readiness")
struct ReadinessTests {
    @Test("GET /ready is 200 while the store answers, 503 once the node is stopping or its cluster feed is lost; /health stays 200")
    func readiness() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let ready = try await client.request(.get, "/ready")
                harness.parts.readiness.feed(isListening: false)
                let feedLost = try await client.request(.get, "/ready")
                harness.parts.readiness.feed(isListening: true)
                let feedBack = try await client.request(.get, "/ready")
                harness.parts.readiness.beginStopping()
                let stopping = try await client.request(.get, "/ready")
                let health = try await client.request(.get, "/health")

                #expect(ready.status == .ok && ready.text.contains("ready"))
                #expect(feedLost.status == .serviceUnavailable && feedLost.problem?.detail?.contains("feed") == true)
                #expect(feedBack.status == .ok)
                #expect(stopping.status == .serviceUnavailable && stopping.problem?.detail?.contains("stopping") == true)
                #expect(health.status == .ok)
            }
        }
    }
}
