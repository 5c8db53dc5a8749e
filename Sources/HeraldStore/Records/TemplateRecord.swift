import Foundation
import GRDB
import HeraldCore

struct TemplateRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "template"
    var appID: AppID
    var key: TemplateKey
    var version: Int
    var definition: String
    var createdAt: Int64

    enum Columns {
        static let appID = Column(CodingKeys.appID)
        static let key = Column(CodingKeys.key)
        static let version = Column(CodingKeys.version)
    }

    func template() throws -> Template {
        Template(
            key: key, version: version, createdAt: WireTime.date(milliseconds: createdAt),
            definition: try JSONDecoder().decode(TemplateDefinition.self, from: Data(definition.utf8)))
    }
}
