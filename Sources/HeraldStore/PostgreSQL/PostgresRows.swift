import Foundation
import HeraldCore
import PostgresNIO

// The columns each shared row shape (`Records/`) is selected with on PostgreSQL; the row decodes by
// column name through the record's own `Decodable` conformance (`PostgresRowDecoder`).

extension AppRecord {
    static let postgresColumns = "id, name, apiKeyID, apiKeyHash, createdAt"
}

extension TokenKeyRecord {
    static let postgresColumns = "kid, appID, sealedSecret, createdAt"
}

extension UserRecord {
    static let postgresColumns = "appID, id, sealed, locale, timezone, preferences, createdAt, updatedAt"
}

extension ChannelRecord {
    static let postgresColumns = "id, appID, type, name, directKey, lastSeq, lastActivityAt, createdAt, sealedName"
}

extension MessageRecord {
    static let postgresColumns = "id, channelID, seq, sender, sealed, createdAt, editedAt, deletedAt"
}

extension TemplateRecord {
    static let postgresColumns = "appID, key, version, definition, createdAt"
}

extension DeviceRecord {
    static let postgresColumns =
        "id, appID, userID, platform, token, subscription, stepUpKey, stepUpState, stepUpActivatedAt, createdAt, updatedAt, stepUpTag"
}

extension NotificationRecord {
    static let postgresColumns =
        "id, appID, category, templateKey, templateVersion, sealed, audience, sendAt, expiresAt, status, audienceSize, leaseUntil, createdAt, completedAt, fanOutSeen, journeyKey"
}

extension InboxItemRecord {
    static let postgresColumns = """
        position, id, appID, userID, notificationID, category, sealed, createdAt, releasedAt, expiresAt, deliveredAt, readAt, archivedAt, \
        actionID, sealedInput, actedAt, locale, binding, signature, signedBy
        """
}
