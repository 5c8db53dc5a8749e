public import Foundation

/// What a fan-out needs to know of a user: who they are and when and in which language to reach them.
///
/// Deliberately without the profile (name, metadata), which is sealed with the user's own key: a send to
/// 100,000 users does not open 100,000 profiles.
public struct Recipient: Equatable, Sendable {
    public var id: UserID
    public var locale: String?
    public var timezone: String?
    public var preferences: UserPreferences

    public init(id: UserID, locale: String?, timezone: String?, preferences: UserPreferences) {
        self.id = id
        self.locale = locale
        self.timezone = timezone
        self.preferences = preferences
    }
}
