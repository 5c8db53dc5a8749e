public import Foundation
public import HeraldCore

/// Makes a create idempotent: the first request with a key stores its result; a repeat in the same
/// scope returns that result instead of creating another.
public struct IdempotencyKey: Sendable, Equatable {
    /// Who the key belongs to: keys of different callers or endpoints never collide.
    public var scope: String
    public var key: ClientMessageID
    /// The canonical bytes of the request; a repeat with other bytes is a conflict when
    /// `requiresSameRequest` (HTTP `Idempotency-Key`), and simply returns the first result otherwise
    /// (WebSocket `clientMessageId`, where a retry is by definition the same send).
    public var fingerprint: Data
    public var requiresSameRequest: Bool

    public init(scope: String, key: ClientMessageID, fingerprint: Data, requiresSameRequest: Bool) {
        self.scope = scope
        self.key = key
        self.fingerprint = fingerprint
        self.requiresSameRequest = requiresSameRequest
    }
}
