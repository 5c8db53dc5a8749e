import Foundation
import GRDB
import HeraldCore

struct UserRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "user"
    var appID: AppID
    var id: UserID
    /// `Profile`, sealed with the user's data key.
    var sealed: Data?
    var locale: String?
    var timezone: String?
    /// JSON of `UserPreferences`; nil until the user sets any.
    var preferences: String?
    var createdAt: Int64
    var updatedAt: Int64

    /// The sealed part of the profile: what identifies or describes the person.
    struct Profile: Codable {
        var name: String?
        var metadata: [String: JSONValue]
        /// Absent in profiles stored before contacts were kept.
        var phone: PhoneNumber?
        var email: EmailAddress?
    }

    enum Columns {
        static let appID = Column(CodingKeys.appID)
        static let id = Column(CodingKeys.id)
    }

    static func seal(_ profile: UserProfile, app: AppID, id: UserID, key: DataKey) throws -> Data {
        try key.seal(json: Profile(name: profile.name, metadata: profile.metadata, phone: profile.phone, email: profile.email), context: SealingContext.user(app: app, id: id))
    }

    /// The user's preferences: the defaults until they set any.
    /// - Throws: when the stored JSON does not decode (never read as the defaults: a customer who turned
    ///   marketing off must not be opted back in by a damaged row).
    func decodedPreferences() throws -> UserPreferences {
        try preferences.map { try JSONDecoder().decode(UserPreferences.self, from: Data($0.utf8)) } ?? UserPreferences()
    }

    /// The user with their profile opened with `keys`' data key of the user.
    func user(keys: KeyRing) throws -> User {
        try user(key: keys.key(.user(id), in: appID))
    }

    /// The user with their profile opened with `key`, their data key.
    /// - Throws: `HeraldError.notFound` when the user's key is gone (they are being erased).
    func user(key: DataKey?) throws -> User {
        guard let sealed, let key else {
            throw HeraldError.notFound(resource: "user")
        }
        let profile = try key.open(json: sealed, as: Profile.self, context: SealingContext.user(app: appID, id: id))
        return User(
            id: id, name: profile.name, locale: locale, timezone: timezone, metadata: profile.metadata,
            preferences: try decodedPreferences(), createdAt: WireTime.date(milliseconds: createdAt), updatedAt: WireTime.date(milliseconds: updatedAt),
            phone: profile.phone, email: profile.email)
    }

    func recipient() throws -> Recipient {
        Recipient(id: id, locale: locale, timezone: timezone, preferences: try decodedPreferences())
    }
}

/// The blind index of user metadata: one keyed hash per top-level key and scalar value, under the app's key.
enum UserTags {
    static func tag(key: String, value: JSONValue, appKey: DataKey) -> Data? {
        switch value {
        case .string, .bool, .number:
            var input = Data(key.utf8)
            input.append(0)
            input.append(value.canonicalData())
            return appKey.tag(input, purpose: "metadata")
        default:
            return nil
        }
    }

    static func replace(for user: UserID, app: AppID, metadata: [String: JSONValue], appKey: DataKey, db: Database) throws {
        try db.execute(sql: "DELETE FROM userTag WHERE appID = ? AND userID = ?", arguments: [app, user])
        let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO userTag (appID, userID, tag) VALUES (?, ?, ?)")
        for (key, value) in metadata {
            guard let tag = tag(key: key, value: value, appKey: appKey) else { continue }
            try insert.execute(arguments: [app, user, tag])
        }
    }
}
