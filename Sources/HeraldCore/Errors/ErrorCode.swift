/// What went wrong, by one name on every wire: the `type` of a problem+json body and the `code` of a
/// realtime `error` frame are the same string for the same error (documented in `docs/openapi.yaml`
/// and `docs/protocol.md`). Snake case, like the `reason` of a `FieldProblem`.
public enum ErrorCode: String, Codable, Sendable, CaseIterable {
    case notFound = "not_found"
    case unauthenticated
    case forbidden
    case invalid
    case malformed
    case conflict
    case gone
    case tooLarge = "too_large"
    case rateLimited = "rate_limited"
    case timedOut = "timed_out"
    case methodNotAllowed = "method_not_allowed"
    /// `GET /ready`: the node should not get traffic now.
    case notReady = "not_ready"
    /// The server is stopping.
    case unavailable
    case `internal`
}

/// The close codes of the realtime gateway (RFC 6455's, and Herald's own in 4000–4999), shared by the
/// server and the SDK (documented in `docs/protocol.md`).
public enum RealtimeCloseCode: UInt16, Sendable, CaseIterable {
    case normal = 1000
    /// The server is shutting down: reconnect to another node or later.
    case goingAway = 1001
    case protocolError = 1002
    /// A binary frame: only JSON text frames are accepted.
    case unsupportedData = 1003
    /// A text frame that is not UTF-8.
    case invalidText = 1007
    /// The client did not read fast enough (slow consumer).
    case policyViolation = 1008
    case messageTooBig = 1009
    /// Service restart: reconnect now and `sync`.
    case serviceRestart = 1012
    /// Not authenticated, a bad or expired token, or the user was erased: get a new token.
    case unauthenticated = 4401
    case forbidden = 4403
    /// No `auth` frame in time.
    case authTimeout = 4408
    case frameTooLarge = 4413
    /// Too many frames, sockets or failed authentications.
    case rateLimited = 4429
}

extension HeraldError {
    /// This error's name on the wire.
    public var code: ErrorCode {
        switch self {
        case .notFound: .notFound
        case .unauthenticated: .unauthenticated
        case .forbidden, .forbiddenBecause: .forbidden
        case .invalid: .invalid
        case .malformed: .malformed
        case .conflict, .conflictBecause: .conflict
        case .gone: .gone
        case .tooLarge: .tooLarge
        case .rateLimited: .rateLimited
        case .timedOut: .timedOut
        }
    }
}

extension HeraldError {
    /// The human sentence for this error, the same in a problem's `detail` and a frame's `detail`.
    public var detail: String {
        switch self {
        case .notFound(let what): "The \(what) does not exist."
        case .unauthenticated(let why): why.detail
        case .forbidden(let reason): reason
        case .forbiddenBecause(let problem), .conflictBecause(let problem): problem.detail ?? problem.reason.rawValue
        case .invalid(let problems): problems.map { "\($0.field): \($0.reason.rawValue)" }.joined(separator: "; ")
        case .malformed(let detail), .conflict(let detail), .gone(let detail), .tooLarge(let detail), .timedOut(let detail): detail
        case .rateLimited(let seconds): "Retry after \(seconds) seconds."
        }
    }
}
