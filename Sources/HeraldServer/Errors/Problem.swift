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
        case .notFound: self.init(.notFound, .notFound, "Not found", detail: error.detail)
        case .unauthenticated: self.init(.unauthorized, .unauthenticated, "Missing or invalid credentials", detail: error.detail)
        case .forbidden: self.init(.forbidden, .forbidden, "Not allowed", detail: error.detail)
        case .invalid(let fields): self.init(.unprocessableContent, .invalid, "Invalid request", errors: fields)
        case .malformed: self.init(.badRequest, .malformed, "Malformed request", detail: error.detail)
        case .forbiddenBecause(let problem): self.init(.forbidden, .forbidden, "Not allowed", detail: problem.detail, errors: [problem])
        case .conflict: self.init(.conflict, .conflict, "Conflict", detail: error.detail)
        case .conflictBecause(let problem): self.init(.conflict, .conflict, "Conflict", detail: problem.detail, errors: [problem])
        case .gone: self.init(.gone, .gone, "Gone", detail: error.detail)
        case .tooLarge: self.init(.contentTooLarge, .tooLarge, "Too large", detail: error.detail)
        case .timedOut: self.init(.requestTimeout, .timedOut, "Request timeout", detail: error.detail)
        case .rateLimited(let seconds):
            self.init(.tooManyRequests, .rateLimited, "Too many requests", detail: error.detail)
            headers[.retryAfter] = String(seconds)
        }
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
    }

    /// Errors the framework raises before a handler runs (unknown route, body too large, ...).
    init(_ error: HTTPError) {
        switch error.status {
        case .notFound: self.init(.notFound, .notFound, "Not found", detail: "No such route.")
        case .methodNotAllowed: self.init(.methodNotAllowed, .methodNotAllowed, "Method not allowed")
        case .contentTooLarge:
            self.init(.contentTooLarge, .tooLarge, "Request body too large", detail: "At most \(Limits.requestBodyBytes) bytes.")
        case .requestTimeout: self.init(.requestTimeout, .timedOut, status: error.status, detail: error.body)
        case let status where status.code < 500:
            self.init(status, .malformed, status.reasonPhrase, detail: error.body)
        default: self = .internal
        }
        for field in error.headers where field.name != .contentType { headers.append(field) }
    }

    static let `internal` = Problem(.internalServerError, .internal, "Internal server error")

    init(_ status: HTTPResponse.Status, _ code: ErrorCode, _ title: String, detail: String? = nil, errors: [FieldProblem]? = nil) {
        self.status = status
        self.details = ProblemDetails(type: code.rawValue, title: title, status: status.code, detail: detail, errors: errors)
    }

    private init(_ status: HTTPResponse.Status, _ code: ErrorCode, status reason: HTTPResponse.Status, detail: String?) {
        self.init(status, code, reason.reasonPhrase, detail: detail)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        let body = (try? WireJSON.encoder().encode(details)) ?? Data(#"{"type":"internal","title":"Internal server error","status":500}"#.utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
