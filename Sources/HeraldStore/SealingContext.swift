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
    static func message(channel: ChannelID, id: MessageID) -> String { "message|\(channel.rawValue)|\(id.rawValue)" }
    static func user(app: AppID, id: UserID) -> String { "user|\(app.rawValue)|\(id.rawValue)" }
    static func notification(_ id: NotificationID) -> String { "notification|\(id.rawValue)" }
    static func inboxItem(_ id: InboxItemID) -> String { "inbox|\(id.rawValue)" }
    static func inboxInput(_ id: InboxItemID) -> String { "inbox.input|\(id.rawValue)" }
    /// A shared notification's content in one locale (`""` when it has none).
    static func notificationContent(_ id: NotificationID, locale: String) -> String { "notification.content|\(id.rawValue)|\(locale)" }
    /// Where a fan-out stands: a user id of its audience, which says who is in a segment.
    static func fanOutCursor(_ id: NotificationID) -> String { "notification.fanOut|\(id.rawValue)" }
    /// A customer event's properties and time.
    static func customerEvent(app: AppID, id: EventID) -> String { "event|\(app.rawValue)|\(id.rawValue)" }
    /// A journey run's context: the events it acted on and what it sent.
    static func journeyRun(app: AppID, id: JourneyRunID) -> String { "journeyRun|\(app.rawValue)|\(id.rawValue)" }
    /// One entry of a journey digest: the variables a run's digest step resolved.
    static func journeyDigestEntry(app: AppID, digest: JourneyDigestID, run: JourneyRunID, step: String) -> String {
        "journeyDigest|\(app.rawValue)|\(digest.rawValue)|\(run.rawValue)|\(step)"
    }
    static func channelName(_ id: ChannelID) -> String { "channel.name|\(id.rawValue)" }
    static func outbox(app: AppID, kind: OutboxKind, subject: String?) -> String { "outbox|\(app.rawValue)|\(kind.rawValue)|\(subject ?? "")" }
    static func pushCredential(app: AppID, provider: PushCredentialKind) -> String { "pushCredential:\(app.rawValue):\(provider.rawValue)" }
    static func webhookSecret(_ app: AppID) -> String { "webhookSecret:\(app.rawValue)" }
    static func tokenKey(kid: String, app: AppID) -> String { "tokenKey:\(app.rawValue):\(kid)" }
    static func signingKey(kid: String, app: AppID) -> String { "signingKey:\(app.rawValue):\(kid)" }
    /// The wrapping of an app's key-encryption key by the master key.
    static func appKey(_ app: AppID) -> String { "appKey|\(app.rawValue)" }
    /// The wrapping of a data key (the app's, or a user's) by the app's key-encryption key.
    static func dataKey(app: AppID, ownerColumn: String) -> String { "dataKey|\(app.rawValue)|\(ownerColumn)" }
    /// The wrapping of the audit trail's HMAC key by the master key.
    static let auditKey = "auditKey"
}
