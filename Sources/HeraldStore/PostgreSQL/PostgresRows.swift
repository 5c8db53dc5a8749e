import Foundation
import HeraldCore
import PostgresNIO

// The shared row shapes (`Records/`) read from PostgreSQL. Each type names its columns once
// (`postgresColumns`), in the order its initializer decodes them, and every query selects them so.

extension AppRecord {
    static let postgresColumns = "id, name, apiKeyID, apiKeyHash, createdAt"

    init(postgres row: PostgresRow) throws {
        (id, name, apiKeyID, apiKeyHash, createdAt) = try row.decode((AppID, String, String, Data, Int64).self)
    }
}

extension TokenKeyRecord {
    static let postgresColumns = "kid, appID, sealedSecret, createdAt"

    init(postgres row: PostgresRow) throws {
        (kid, appID, sealedSecret, createdAt) = try row.decode((String, AppID, Data, Int64).self)
    }
}

extension UserRecord {
    static let postgresColumns = "appID, id, sealed, locale, timezone, preferences, createdAt, updatedAt"

    init(postgres row: PostgresRow) throws {
        (appID, id, sealed, locale, timezone, preferences, createdAt, updatedAt) = try row.decode(
            (AppID, UserID, Data?, String?, String?, String?, Int64, Int64).self)
    }
}

extension ChannelRecord {
    static let postgresColumns = "id, appID, type, name, directKey, lastSeq, lastActivityAt, createdAt, sealedName"

    init(postgres row: PostgresRow) throws {
        (id, appID, type, name, directKey, lastSeq, lastActivityAt, createdAt, sealedName) = try row.decode(
            (ChannelID, AppID, HeraldCore.Channel.Kind, String?, String?, Int64, Int64, Int64, Data?).self)
    }
}

extension MessageRecord {
    static let postgresColumns = "id, channelID, seq, sender, sealed, createdAt, editedAt, deletedAt"

    init(postgres row: PostgresRow) throws {
        (id, channelID, seq, sender, sealed, createdAt, editedAt, deletedAt) = try row.decode(
            (MessageID, ChannelID, Int64, UserID?, Data?, Int64, Int64?, Int64?).self)
    }
}

extension TemplateRecord {
    static let postgresColumns = "appID, key, version, definition, createdAt"

    init(postgres row: PostgresRow) throws {
        let (appID, key, version, definition, createdAt) = try row.decode((AppID, TemplateKey, Int64, String, Int64).self)
        self.init(appID: appID, key: key, version: Int(version), definition: definition, createdAt: createdAt)
    }
}

extension DeviceRecord {
    static let postgresColumns =
        "id, appID, userID, platform, token, subscription, stepUpKey, stepUpState, stepUpActivatedAt, createdAt, updatedAt, stepUpTag"

    init(postgres row: PostgresRow) throws {
        let (id, appID, userID, platform, token, subscription, stepUpKey, stepUpState, stepUpActivatedAt, createdAt, updatedAt, stepUpTag) = try row.decode(
            (DeviceID, AppID, UserID, Device.Platform, String, String?, String?, Device.StepUpState?, Int64?, Int64, Int64, Data?).self)
        self.init(
            id: id, appID: appID, userID: userID, platform: platform, token: token, subscription: subscription, stepUpKey: stepUpKey,
            stepUpState: stepUpState, stepUpActivatedAt: stepUpActivatedAt, createdAt: createdAt, updatedAt: updatedAt, stepUpTag: stepUpTag)
    }
}

extension NotificationRecord {
    static let postgresColumns =
        "id, appID, category, templateKey, templateVersion, sealed, audience, sendAt, expiresAt, status, audienceSize, leaseUntil, createdAt, completedAt"

    init(postgres row: PostgresRow) throws {
        let columns = try row.decode(
            (NotificationID, AppID, NotificationCategory, TemplateKey?, Int64?, Data?, String, Int64?, Int64?, OutgoingNotification.Status, Int64?, Int64?, Int64, Int64?).self)
        (id, appID, category, templateKey, sealed, audience) = (columns.0, columns.1, columns.2, columns.3, columns.5, columns.6)
        templateVersion = columns.4.map(Int.init)
        (sendAt, expiresAt, status, leaseUntil, createdAt, completedAt) = (columns.7, columns.8, columns.9, columns.11, columns.12, columns.13)
        audienceSize = columns.10.map(Int.init)
    }
}

extension InboxItemRecord {
    static let postgresColumns = """
        position, id, appID, userID, notificationID, category, sealed, createdAt, releasedAt, expiresAt, deliveredAt, readAt, archivedAt, \
        actionID, sealedInput, actedAt
        """

    init(postgres row: PostgresRow) throws {
        let columns = try row.decode(
            (Int64, InboxItemID, AppID, UserID, NotificationID, NotificationCategory, Data?, Int64, Int64?, Int64?, Int64?, Int64?, Int64?, String?, Data?, Int64?).self)
        (position, id, appID, userID, notificationID, category, sealed) = (columns.0, columns.1, columns.2, columns.3, columns.4, columns.5, columns.6)
        (createdAt, releasedAt, expiresAt, deliveredAt, readAt, archivedAt) = (columns.7, columns.8, columns.9, columns.10, columns.11, columns.12)
        (actionID, sealedInput, actedAt) = (columns.13, columns.14, columns.15)
    }
}
