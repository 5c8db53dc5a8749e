import Foundation
import HeraldCore
import HeraldPush

/// Decides what a push may say. In `generic` mode (the default for every category, and always for
/// chat messages) the title and body are a neutral line naming only the business, so a lock screen,
/// the provider's logs or a stolen phone show nothing of the content; the app fetches it over its
/// authenticated API with the ids the push carries. In `full` mode (per category, in the app's
/// settings) the title and body are the item's, the body cut to fit the providers' 4 KiB payloads.
struct PushComposer: Sendable {
    static let genericTitle = "New secure message"
    static let fullBodyLimit = 1_000
    /// How long a provider may keep a push for an offline device when the content does not expire sooner.
    static let defaultLifetime: TimeInterval = 7 * 24 * 3600

    static func genericBody(appName: String) -> String { "From \(appName). Open the app to read it." }

    func push(for item: InboxItem, app: App, mode: AppSettings.PushContent, badge: Int?, now: Date) -> PushNotification {
        let isFull = mode == .full
        return PushNotification(
            kind: .inbox, appID: app.id.rawValue, id: item.id.rawValue, title: isFull ? String(item.title.prefix(200)) : Self.genericTitle,
            body: isFull ? Self.cut(item.body) : Self.genericBody(appName: app.name), badge: badge,
            expiresAt: item.expiresAt ?? now.addingTimeInterval(Self.defaultLifetime), isUrgent: item.category != .marketing)
    }

    func push(for message: Message, app: App, badge: Int?, now: Date) -> PushNotification {
        PushNotification(
            kind: .message, appID: app.id.rawValue, id: message.id.rawValue, channelID: message.channelId.rawValue, title: Self.genericTitle,
            body: Self.genericBody(appName: app.name), badge: badge, expiresAt: now.addingTimeInterval(Self.defaultLifetime), isUrgent: true)
    }

    private static func cut(_ body: String) -> String {
        body.count <= fullBodyLimit ? body : String(body.prefix(fullBodyLimit - 1)) + "…"
    }
}
