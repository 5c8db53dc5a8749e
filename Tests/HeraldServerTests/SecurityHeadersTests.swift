import Foundation
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
