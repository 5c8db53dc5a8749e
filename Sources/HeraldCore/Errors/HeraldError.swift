/// What went wrong, in domain words. Only HeraldServer knows HTTP: it maps each case to a status
/// and an RFC 9457 problem document in one place (`Problem`).
public enum HeraldError: Error, Equatable, Sendable {
    /// The resource does not exist, or belongs to another app (never reveal which).
    case notFound(resource: String)
    /// No credentials, or credentials that are not valid, and why (as far as is safe to say).
    case unauthenticated(CredentialRejection)
    /// Authenticated, but this caller may not do this.
    case forbidden(reason: String)
    /// The request is well-formed JSON but fields are wrong; every bad field is listed.
    case invalid([FieldProblem])
    /// The request could not be parsed at all (broken JSON, bad UTF-8, not an object).
    case malformed(detail: String)
    /// Authenticated, but refused for a reason clients may switch on (`step_up_key_not_active`); 403
    /// with the problem in `errors`.
    case forbiddenBecause(FieldProblem)
    /// The request conflicts with the current state (an idempotency key reused with another body).
    case conflict(detail: String)
    /// A conflict with a reason clients may switch on (`step_up_key_exists`); 409 with the problem in `errors`.
    case conflictBecause(FieldProblem)
    /// The resource existed but is no longer usable (an expired inbox item).
    case gone(detail: String)
    /// A body or frame exceeds a documented limit.
    case tooLarge(detail: String)
    /// A rate limit was hit; retry after the given number of seconds.
    case rateLimited(retryAfterSeconds: Int)
    /// The request did not arrive in time (its body trickled in): 408.
    case timedOut(detail: String)

    public static func invalid(field: String, _ reason: FieldProblem.Reason, detail: String? = nil) -> HeraldError {
        .invalid([FieldProblem(field: field, reason: reason, detail: detail)])
    }
}
