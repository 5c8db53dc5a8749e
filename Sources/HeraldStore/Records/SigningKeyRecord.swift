import Foundation
import GRDB
import HeraldCore

struct SigningKeyRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "signingKey"
    var kid: String
    var appID: AppID
    var sealedPrivateKey: Data
    var createdAt: Int64

    enum Columns {
        static let appID = Column(CodingKeys.appID)
        static let createdAt = Column(CodingKeys.createdAt)
    }

    /// Associated data of the sealed key: it only opens as the key of this kid and app.
}

extension SigningKeyRecord {
    /// A new key of `app`, sealed with the app's key.
    static func new(_ key: SigningKey, for app: AppID, appKey: DataKey) throws -> SigningKeyRecord {
        SigningKeyRecord(
            kid: key.kid, appID: app, sealedPrivateKey: try appKey.seal(key.rawRepresentation, context: SealingContext.signingKey(kid: key.kid, app: app)),
            createdAt: WireTime.milliseconds(key.createdAt))
    }

    func unsealed(appKey: DataKey) throws -> SigningKey {
        let raw = try appKey.open(sealedPrivateKey, context: SealingContext.signingKey(kid: kid, app: appID))
        return try SigningKey(kid: kid, rawRepresentation: raw, createdAt: WireTime.date(milliseconds: createdAt))
    }
}

struct AppSettingsRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "appSettings"
    var appID: AppID
    var settings: String
    var updatedAt: Int64
}

extension AppSettings {
    /// The settings stored as `text`, or the defaults when the app has set none.
    init(stored text: String?) throws {
        self = try text.map { try JSONDecoder().decode(AppSettings.self, from: Data($0.utf8)) } ?? AppSettings()
    }

    var stored: String {
        get throws { String(decoding: try JSONEncoder().encode(self), as: UTF8.self) }
    }
}
