import Crypto
public import Foundation
import HeraldCore

/// One push, already reduced to what may leave Herald: in `generic` mode `title` and `body` are a
/// neutral line and the rest is ids, so neither the provider nor a lock screen sees any content.
/// The app fetches the item or message over its authenticated API with those ids.
public struct PushNotification: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case inbox, message
    }

    public var kind: Kind
    public var appID: String
    /// The inbox item's or the message's id.
    public var id: String
    /// The channel, for a message.
    public var channelID: String?
    public var title: String
    public var body: String
    /// The user's unread inbox count, shown on the app icon.
    public var badge: Int?
    /// The provider may drop the push after this time (the item's `expiresAt`, or a default).
    public var expiresAt: Date
    /// Security and transactional pushes go at once (high priority); marketing may wait for the
    /// device's convenience.
    public var isUrgent: Bool

    public init(
        kind: Kind, appID: String, id: String, channelID: String? = nil, title: String, body: String, badge: Int?, expiresAt: Date, isUrgent: Bool
    ) {
        self.kind = kind
        self.appID = appID
        self.id = id
        self.channelID = channelID
        self.title = title
        self.body = body
        self.badge = badge
        self.expiresAt = expiresAt
        self.isUrgent = isUrgent
    }

    /// The ids the app needs to fetch the content, as string pairs (FCM's `data` takes strings only).
    public var identifiers: [String: String] {
        var fields = ["type": kind.rawValue, "appId": appID, "id": id]
        if let channelID { fields["channelId"] = channelID }
        return fields
    }

    /// A collapse key shared by every attempt at this push, so a retried push that the provider had
    /// in fact accepted replaces the first on the device instead of showing twice. 32 characters of
    /// base64url: short enough for APNs (64 bytes), FCM and the Web Push `Topic` header (32).
    public var collapseKey: String {
        var hasher = SHA256()
        hasher.update(data: Data("\(appID)/\(id)".utf8))
        return String(Data(hasher.finalize()).base64URLEncodedString().prefix(32))
    }
}
