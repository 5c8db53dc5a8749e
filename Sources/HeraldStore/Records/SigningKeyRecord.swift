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

struct AppSettingsRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "appSettings"
    var appID: AppID
    var settings: String
    var updatedAt: Int64
}
