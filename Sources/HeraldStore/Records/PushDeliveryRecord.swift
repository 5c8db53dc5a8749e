import GRDB
import HeraldCore

/// One row of the push delivery log, as both backends read it.
struct PushDeliveryRecord: Codable, FetchableRecord {
    var id: Int64
    var userID: UserID
    var deviceID: DeviceID
    var platform: Device.Platform
    var subject: PushDelivery.Subject
    var subjectID: String
    var attempt: Int
    var outcome: PushDelivery.Outcome
    var statusCode: Int?
    var reason: String?
    var at: Int64

    static let columns = "id, userID, deviceID, platform, subject, subjectID, attempt, outcome, statusCode, reason, at"

    var delivery: (id: Int64, delivery: PushDelivery) {
        (
            id,
            PushDelivery(
                userId: userID, deviceId: deviceID, platform: platform, subject: subject, subjectId: subjectID, attempt: attempt, outcome: outcome,
                statusCode: statusCode, reason: reason, at: WireTime.date(milliseconds: at))
        )
    }
}
