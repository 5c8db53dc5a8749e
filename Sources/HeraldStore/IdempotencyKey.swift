import Crypto
public import Foundation
public import HeraldCore

/// Makes a create idempotent: the first request with a key stores its result; a repeat in the same
/// scope returns that result instead of creating another.
///
/// The request itself is never kept: only its SHA-256 lives here, and the store keeps an HMAC of that
/// under the app's data key (`fingerprint(appKey:)`), so neither the database, nor a backup, nor a
/// dictionary of likely messages ("yes", "ok", an amount) tells what was sent.
public struct IdempotencyKey: Sendable, Equatable {
    /// Who the key belongs to: keys of different callers or endpoints never collide.
    public var scope: String
    public var key: ClientMessageID
    /// SHA-256 of the canonical bytes of the request. A repeat with another digest is a conflict when
    /// `requiresSameRequest` (HTTP `Idempotency-Key`), and simply returns the first result otherwise
    /// (WebSocket `clientMessageId`, where a retry is by definition the same send).
    public var requestDigest: Data
    public var requiresSameRequest: Bool
    /// The customer the request speaks for (the sender of a message, the one recipient of a
    /// notification), whose keys erasure removes with the rest of their data; nil for the business's own.
    public var user: UserID?

    public init(scope: String, key: ClientMessageID, request: Data, user: UserID?, requiresSameRequest: Bool) {
        self.scope = scope
        self.key = key
        self.requestDigest = Data(SHA256.hash(data: request))
        self.requiresSameRequest = requiresSameRequest
        self.user = user
    }

    /// What the store keeps and compares: a keyed hash of the request digest under the app's data key.
    public func fingerprint(appKey: DataKey) -> Data {
        Self.fingerprint(digest: requestDigest, appKey: appKey)
    }

    private static func fingerprint(digest: Data, appKey: DataKey) -> Data {
        appKey.tag(digest, purpose: "idempotency")
    }

    /// Whether a stored fingerprint is this request's: compared in constant time, like every secret-derived tag.
    func matches(_ stored: Data, appKey: DataKey) -> Bool {
        ConstantTime.isEqual(stored, fingerprint(appKey: appKey))
    }

    /// The stored form of a row written before fingerprints were keyed, which held the canonical request
    /// itself: the same value a new request with those bytes gets, so repeats still match after the upgrade.
    static func upgradedFingerprint(legacy request: Data, appKey: DataKey) -> Data {
        fingerprint(digest: Data(SHA256.hash(data: request)), appKey: appKey)
    }

    static let conflict = HeraldError.conflict(detail: "This Idempotency-Key was already used with a different request.")
}
