import Foundation
import GRDB
import HeraldCore

struct AppRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "app"
    var id: String
    var name: String
    var apiKeyID: String
    var apiKeyHash: Data
    var createdAt: Int64

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let apiKeyID = Column(CodingKeys.apiKeyID)
        static let createdAt = Column(CodingKeys.createdAt)
    }

    func app() throws -> App { App(id: try StoredValue.decode(id, as: AppID.self, column: "id"), name: name, createdAt: WireTime.date(milliseconds: createdAt)) }
}

struct TokenKeyRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "tokenKey"
    var kid: String
    var appID: String
    var sealedSecret: Data
    var createdAt: Int64

    enum Columns {
        static let appID = Column(CodingKeys.appID)
        static let createdAt = Column(CodingKeys.createdAt)
    }

    /// Associated data of the sealed secret: it only opens as the key of this kid and app.
}
