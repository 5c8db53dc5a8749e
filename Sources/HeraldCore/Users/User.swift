public import Foundation

/// A customer of the business, known by the business's own id.
public struct User: Codable, Equatable, Sendable {
    public var id: UserID
    public var name: String?
    public var locale: String?
    public var timezone: String?
    public var metadata: [String: JSONValue]
    public var phone: PhoneNumber?
    public var email: EmailAddress?
    /// Chosen by the customer; read-only for the business.
    public var preferences: UserPreferences
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: UserID, name: String?, locale: String?, timezone: String?, metadata: [String: JSONValue], preferences: UserPreferences = UserPreferences(),
        createdAt: Date, updatedAt: Date, phone: PhoneNumber? = nil, email: EmailAddress? = nil
    ) {
        self.phone = phone
        self.email = email
        self.id = id
        self.name = name
        self.locale = locale
        self.timezone = timezone
        self.metadata = metadata
        self.preferences = preferences
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
