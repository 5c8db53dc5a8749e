import HeraldCore

/// Every context a sealed value is bound to (AES-GCM associated data, or the wrapping context of a
/// key), in one list.
///
/// A value opens only under the context it was sealed with, so a sealed cell copied into another row
/// (another message, another user, another app) fails to open instead of showing the wrong content.
/// Both backends and `herald store copy` (which moves sealed cells unchanged) must agree on these
/// strings byte for byte: they are part of the stored format, pinned by `SealingContextTests`, and
/// never change for existing data.
public enum SealingContext {
    static func message(channel: String, id: String) -> String { "message|\(channel)|\(id)" }
    static func user(app: String, id: String) -> String { "user|\(app)|\(id)" }
    static func notification(_ id: String) -> String { "notification|\(id)" }
    static func inboxItem(_ id: String) -> String { "inbox|\(id)" }
    static func inboxInput(_ id: String) -> String { "inbox.input|\(id)" }
    static func channelName(_ id: String) -> String { "channel.name|\(id)" }
    static func outbox(app: AppID, kind: OutboxKind, subject: String?) -> String { "outbox|\(app.rawValue)|\(kind.rawValue)|\(subject ?? "")" }
    static func pushCredential(app: String, provider: PushCredentialKind) -> String { "pushCredential:\(app):\(provider.rawValue)" }
    static func webhookSecret(_ app: AppID) -> String { "webhookSecret:\(app.rawValue)" }
    static func tokenKey(kid: String, app: String) -> String { "tokenKey:\(app):\(kid)" }
    static func signingKey(kid: String, app: String) -> String { "signingKey:\(app):\(kid)" }
    /// The wrapping of an app's key-encryption key by the master key.
    static func appKey(_ app: AppID) -> String { "appKey|\(app.rawValue)" }
    /// The wrapping of a data key (the app's, or a user's) by the app's key-encryption key.
    static func dataKey(app: AppID, ownerColumn: String) -> String { "dataKey|\(app.rawValue)|\(ownerColumn)" }
    /// The wrapping of the audit trail's HMAC key by the master key.
    static let auditKey = "auditKey"
}
