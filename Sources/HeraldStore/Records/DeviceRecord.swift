import Foundation
import GRDB
import HeraldCore

struct DeviceRecord: Codable, Equatable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "device"
    var id: DeviceID
    var appID: AppID
    var userID: UserID
    var platform: Device.Platform
    var token: String
    var subscription: String?
    var stepUpKey: String?
    /// `pending` or `active` when there is a key (a stored other value fails the read, loudly).
    var stepUpState: Device.StepUpState?
    var stepUpActivatedAt: Int64?
    var createdAt: Int64
    var updatedAt: Int64
    /// `DeviceRules.stepUpTag`: an HMAC under the app's key over who the key belongs to and its state, so
    /// that someone who can write the database but lacks the master key cannot mark a key active, or move
    /// one to another user or device.
    var stepUpTag: Data?

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let appID = Column(CodingKeys.appID)
        static let userID = Column(CodingKeys.userID)
        static let platform = Column(CodingKeys.platform)
        static let token = Column(CodingKeys.token)
        static let createdAt = Column(CodingKeys.createdAt)
    }

    /// The device; with `appKey`, a step-up state whose tag does not verify is read as `pending` (it was
    /// written by someone other than Herald), so it approves nothing.
    func device(appKey: DataKey? = nil) throws -> Device {
        let decoder = JSONDecoder()
        if (stepUpKey == nil) != (stepUpState == nil) { throw StoreCorruption(table: Self.databaseTableName, id: id.rawValue) }
        var trusted = stepUpState
        if let appKey, stepUpState == .active, !DeviceRules.hasValidTag(self, appKey: appKey) { trusted = .pending }
        return Device(
            id: id, platform: platform, token: token,
            subscription: try subscription.map { try decoder.decode(Device.WebPushSubscription.self, from: Data($0.utf8)) },
            stepUpKey: try stepUpKey.map { try decoder.decode(StepUpKey.self, from: Data($0.utf8)) }, stepUpState: trusted,
            stepUpActivatedAt: stepUpActivatedAt.map(WireTime.date(milliseconds:)), createdAt: WireTime.date(milliseconds: createdAt),
            updatedAt: WireTime.date(milliseconds: updatedAt))
    }
}
