public import Foundation

/// What a provider made of one push to one device.
public struct PushResult: Sendable, Equatable {
    public enum Outcome: String, Sendable, Codable {
        /// The provider took it; it will not be sent again.
        case accepted
        /// The token or subscription is dead: the device is removed.
        case unregistered
        /// A passing failure (rate limit, provider error, network): tried again later.
        case retry
        /// A failure that retrying will not cure (bad credentials, refused payload).
        case failed
    }

    public var outcome: Outcome
    /// The provider's HTTP status, when it answered.
    public var statusCode: Int?
    /// The provider's reason (`Unregistered`, `QUOTA_EXCEEDED`, ...) or a short local one. Never content.
    public var reason: String?
    /// The provider's `Retry-After`, in seconds.
    public var retryAfter: TimeInterval?
    /// The provider's id for the push (`apns-id`, FCM's message name), when it gave one.
    public var providerID: String?

    public init(_ outcome: Outcome, statusCode: Int? = nil, reason: String? = nil, retryAfter: TimeInterval? = nil, providerID: String? = nil) {
        self.outcome = outcome
        self.statusCode = statusCode
        self.reason = reason
        self.retryAfter = retryAfter
        self.providerID = providerID
    }

    /// The usual reading of a status a provider gave without a more precise reason.
    static func from(status: Int, reason: String?, retryAfter: TimeInterval?) -> PushResult {
        switch status {
        case 200..<300: PushResult(.accepted, statusCode: status, reason: reason)
        case 404, 410: PushResult(.unregistered, statusCode: status, reason: reason)
        case 408, 429, 500..<600: PushResult(.retry, statusCode: status, reason: reason, retryAfter: retryAfter)
        default: PushResult(.failed, statusCode: status, reason: reason)
        }
    }
}

extension PushResult {
    /// No answer from the provider: a refused target is final (the operator must allow it), anything
    /// else (connection, TLS, timeout) is tried again.
    static func transportFailure(_ error: any Error) -> PushResult {
        if let refused = error as? OutboundTargetGuard.Refused { return PushResult(.failed, reason: refused.description) }
        return PushResult(.retry, reason: String(String(describing: error).prefix(200)))
    }
}
