import Foundation
public import HeraldCore

/// Checks that inbox items and business messages come from the business: their `jws` must verify
/// with a pinned key and sign exactly the fields the app shows (the client compares the signed
/// payload with the item's own fields, so a field changed in transit or at rest is caught).
public struct SenderVerifier: Sendable {
    public let app: AppID
    public let keys: JWKSet

    public init(app: AppID, keys: JWKSet) {
        self.app = app
        self.keys = keys
    }

    public func verify(_ item: InboxItem) -> Verification {
        check(item.jws, expected: item.signedPayload(app: app))
    }

    public func verify(_ message: Message) -> Verification {
        if message.sender != nil { return .fromUser }
        guard let jws = message.jws else { return .unverified(reason: "a business message without a signature") }
        return check(jws, expected: message.signedPayload(app: app))
    }

    private func check(_ jws: String, expected: Data) -> Verification {
        guard !jws.isEmpty else { return .unverified(reason: "no signature") }
        guard let payload = SignedPayload.verify(jws, keys: keys) else {
            return .unverified(reason: "the signature does not verify with a pinned key")
        }
        // Compare as JSON values: the same content, whatever the order of keys.
        guard let signed = try? JSONValue.parse(payload), let shown = try? JSONValue.parse(expected), signed == shown else {
            return .unverified(reason: "the fields differ from what was signed")
        }
        return .verified
    }
}
