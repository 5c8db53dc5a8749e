/// Why credentials were refused (401), said as precisely as is safe: what the caller can fix (send
/// credentials, fix the header, get a new token), never which part of a forged or foreign credential
/// was wrong. An API key with a known id and a wrong secret is `unknown`, like an unknown id; a token
/// is `expired` or `revoked` only once its signature has been checked.
public enum CredentialRejection: String, Sendable, CaseIterable {
    /// No `Authorization` header (or `auth` frame) at all.
    case missing
    /// Not `Bearer <credential>`, or a credential that is neither an API key nor a token in shape.
    case malformed
    /// Not a credential this server issued, or no longer (a rotated API key, a forged or foreign token).
    case unknown
    /// A genuine token past its expiry.
    case expired
    /// A genuine, unexpired token whose user revoked their tokens or was erased.
    case revoked

    public var detail: String {
        switch self {
        case .missing: "No credentials: send Authorization: Bearer followed by an API key or a user token."
        case .malformed: "The credentials are malformed: send Authorization: Bearer followed by an API key (hk_…) or a user token (a JWT)."
        case .unknown: "The credentials are not known to this server (a rotated API key, or a token it did not issue)."
        case .expired: "The token has expired: get a new one from the business's backend."
        case .revoked: "The token was revoked (its user signed out everywhere or was erased): get a new one."
        }
    }
}
