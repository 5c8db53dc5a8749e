import Foundation
import HTTPTypes
import HeraldCore
import Hummingbird

/// The only place an error meets HTTP: each `HeraldError` and each framework error becomes a
/// status and a problem+json body. Anything else is a logged, bare 500 that reveals nothing.
struct Problem: HTTPResponseError {
    let status: HTTPResponse.Status
    let details: ProblemDetails
    var headers: HTTPFields = [:]

    init(_ error: HeraldError) {
        switch error {
        case .notFound(let what): self.init(.notFound, "not-found", "Not found", detail: "The \(what) does not exist.")
        case .unauthenticated: self.init(.unauthorized, "unauthenticated", "Missing or invalid credentials")
        case .forbidden(let reason): self.init(.forbidden, "forbidden", "Not allowed", detail: reason)
        case .invalid(let fields): self.init(.unprocessableContent, "invalid", "Invalid request", errors: fields)
        case .malformed(let detail): self.init(.badRequest, "malformed", "Malformed request", detail: detail)
        case .forbiddenBecause(let problem): self.init(.forbidden, "forbidden", "Not allowed", detail: problem.detail, errors: [problem])
        case .conflict(let detail): self.init(.conflict, "conflict", "Conflict", detail: detail)
        case .conflictBecause(let problem): self.init(.conflict, "conflict", "Conflict", detail: problem.detail, errors: [problem])
        case .gone(let detail): self.init(.gone, "gone", "Gone", detail: detail)
        case .tooLarge(let detail): self.init(.contentTooLarge, "too-large", "Too large", detail: detail)
        case .timedOut(let detail): self.init(.requestTimeout, "timed-out", "Request timeout", detail: detail)
        case .rateLimited(let seconds):
            self.init(.tooManyRequests, "rate-limited", "Too many requests", detail: "Retry after \(seconds) seconds.")
            headers[.retryAfter] = String(seconds)
        }
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
    }

    /// Errors the framework raises before a handler runs (unknown route, body too large, ...).
    init(_ error: HTTPError) {
        switch error.status {
        case .notFound: self.init(.notFound, "not-found", "Not found", detail: "No such route.")
        case .methodNotAllowed: self.init(.methodNotAllowed, "method-not-allowed", "Method not allowed")
        case .contentTooLarge:
            self.init(.contentTooLarge, "too-large", "Request body too large", detail: "At most \(Limits.requestBodyBytes) bytes.")
        case let status where status.code < 500:
            self.init(status, "http-\(status.code)", status.reasonPhrase, detail: error.body)
        default: self = .internal
        }
        for field in error.headers where field.name != .contentType { headers.append(field) }
    }

    static let `internal` = Problem(.internalServerError, "internal", "Internal server error")

    init(_ status: HTTPResponse.Status, _ type: String, _ title: String, detail: String? = nil, errors: [FieldProblem]? = nil) {
        self.status = status
        self.details = ProblemDetails(type: type, title: title, status: status.code, detail: detail, errors: errors)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        let body = (try? WireJSON.encoder().encode(details)) ?? Data(#"{"type":"internal","title":"Internal server error","status":500}"#.utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
