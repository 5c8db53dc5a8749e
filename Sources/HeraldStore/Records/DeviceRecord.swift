import Foundation
import GRDB
import HeraldCore

struct DeviceRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "device"
    var id: String
    var appID: String
    var userID: String
    var platform: String
    var token: String
    var subscription: String?
    var stepUpKey: String?
    var createdAt: Int64
    var updatedAt: Int64

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let appID = Column(CodingKeys.appID)
        static let userID = Column(CodingKeys.userID)
        static let platform = Column(CodingKeys.platform)
        static let token = Column(CodingKeys.token)
        static let createdAt = Column(CodingKeys.createdAt)
    }

    func device() throws -> Device {
        let decoder = JSONDecoder()
        return Device(
            id: DeviceID(rawValue: id)!, platform: Device.Platform(rawValue: platform) ?? .apns, token: token,
            subscription: try subscription.map { try decoder.decode(Device.WebPushSubscription.self, from: Data($0.utf8)) },
            stepUpKey: try stepUpKey.map { try decoder.decode(StepUpKey.self, from: Data($0.utf8)) }, createdAt: WireTime.date(milliseconds: createdAt),
            updatedAt: WireTime.date(milliseconds: updatedAt))
    }
}
