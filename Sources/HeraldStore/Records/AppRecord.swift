import Foundation
import GRDB
import HeraldCore

struct AppRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "app"
    var id: AppID
    var name: String
    var apiKeyID: String
    var apiKeyHash: Data
    var createdAt: Int64

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let apiKeyID = Column(CodingKeys.apiKeyID)
        static let createdAt = Column(CodingKeys.createdAt)
    }

    func app() -> App { App(id: id, name: name, createdAt: WireTime.date(milliseconds: createdAt)) }
}

struct TokenKeyRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "tokenKey"
    var kid: String
    var appID: AppID
    var sealedSecret: Data
    var createdAt: Int64

    enum Columns {
        static let appID = Column(CodingKeys.appID)
        static let createdAt = Column(CodingKeys.createdAt)
    }

}

/// The rules of user-token keys, for both backends: how a key is made, when an old one may go, and how
/// a stored one opens.
extension TokenKeyRecord {
    /// A new key for `app`, its secret sealed, created at `time` but strictly after `latest` (the
    /// newest existing key's time), so that the current key, the newest, is always the one just made.
    static func new(for app: AppID, appKey: DataKey, at time: Int64, after latest: Int64?) throws -> TokenKeyRecord {
        let kid = RandomToken.base32(byteCount: 10)
        let sealed = try appKey.seal(Data(RandomToken.bytes(32)), context: SealingContext.tokenKey(kid: kid, app: app))
        return TokenKeyRecord(kid: kid, appID: app, sealedSecret: sealed, createdAt: max(time, (latest ?? Int64.min) &+ 1))
    }

    /// At a rotation, keys created before the newest one created at or before this time go: that one
    /// may have signed tokens still valid (they live at most `Limits.maxTokenTTLSeconds`), older ones cannot.
    static func rotationCutoff(now: Int64) -> Int64 { now - Limits.maxTokenTTLSeconds * 1000 }

    /// The key, its secret opened with the app's key (it opens only as the key of this kid and app).
    func unsealed(appKey: DataKey) throws -> TokenSigningKey {
        TokenSigningKey(kid: kid, app: appID, secret: try appKey.open(sealedSecret, context: SealingContext.tokenKey(kid: kid, app: appID)))
    }
}
