import HTTPTypes
import Hummingbird

/// Security headers on every response, errors included (it is the outermost middleware): no content
/// sniffing, no framing, no referrer, nothing cached unless a route says otherwise (the public key
/// sets), a content security policy that allows nothing (the API serves JSON, never pages), and
/// HSTS when the server speaks TLS.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    let usesTLS: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.referrerPolicy] = "no-referrer"
        response.headers[.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        if usesTLS { response.headers[.strictTransportSecurity] = "max-age=63072000; includeSubDomains" }
        return response
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}
