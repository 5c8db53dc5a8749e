import Foundation
import GRDB
import HeraldCore

struct DeviceRecord: Codable, Equatable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "device"
    var id: String
    var appID: String
    var userID: String
    var platform: String
    var token: String
    var subscription: String?
    var stepUpKey: String?
    /// `pending` or `active` when there is a key (a stored other value fails the read, loudly).
    var stepUpState: String?
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
        guard let deviceID = DeviceID(rawValue: id), let platform = Device.Platform(rawValue: platform) else {
            throw StoreCorruption(table: Self.databaseTableName, id: id)
        }
        let state = try stepUpState.map { text in
            guard let state = Device.StepUpState(rawValue: text) else { throw StoreCorruption(table: Self.databaseTableName, id: id) }
            return state
        }
        if (stepUpKey == nil) != (state == nil) { throw StoreCorruption(table: Self.databaseTableName, id: id) }
        var trusted = state
        if let appKey, state == .active, !DeviceRules.hasValidTag(self, appKey: appKey) { trusted = .pending }
        return Device(
            id: deviceID, platform: platform, token: token,
            subscription: try subscription.map { try decoder.decode(Device.WebPushSubscription.self, from: Data($0.utf8)) },
            stepUpKey: try stepUpKey.map { try decoder.decode(StepUpKey.self, from: Data($0.utf8)) }, stepUpState: trusted,
            stepUpActivatedAt: stepUpActivatedAt.map(WireTime.date(milliseconds:)), createdAt: WireTime.date(milliseconds: createdAt),
            updatedAt: WireTime.date(milliseconds: updatedAt))
    }
}
