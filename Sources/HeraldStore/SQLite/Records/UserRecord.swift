import Foundation
import GRDB
import HeraldCore

struct UserRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "user"
    var appID: String
    var id: String
    var name: String?
    var locale: String?
    var timezone: String?
    var metadata: String
    /// JSON of `UserPreferences`; nil until the user sets any.
    var preferences: String?
    var createdAt: Int64
    var updatedAt: Int64

    enum Columns {
        static let appID = Column(CodingKeys.appID)
        static let id = Column(CodingKeys.id)
    }

    var user: User {
        User(
            id: UserID(rawValue: id)!, name: name, locale: locale, timezone: timezone,
            metadata: JSONColumn.decodeObject(metadata) ?? [:],
            preferences: preferences.flatMap { try? JSONDecoder().decode(UserPreferences.self, from: Data($0.utf8)) } ?? UserPreferences(), createdAt: WireTime.date(milliseconds: createdAt),
            updatedAt: WireTime.date(milliseconds: updatedAt))
    }
}
