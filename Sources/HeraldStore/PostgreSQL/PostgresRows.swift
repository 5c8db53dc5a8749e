import Foundation
import PostgresNIO

// The shared row shapes (`Records/`) read from PostgreSQL. Each type names its columns once
// (`postgresColumns`), in the order its initializer decodes them, and every query selects them so.

extension AppRecord {
    static let postgresColumns = "id, name, apiKeyID, apiKeyHash, createdAt"

    init(postgres row: PostgresRow) throws {
        (id, name, apiKeyID, apiKeyHash, createdAt) = try row.decode((String, String, String, Data, Int64).self)
    }
}

extension TokenKeyRecord {
    static let postgresColumns = "kid, appID, sealedSecret, createdAt"

    init(postgres row: PostgresRow) throws {
        (kid, appID, sealedSecret, createdAt) = try row.decode((String, String, Data, Int64).self)
    }
}

extension UserRecord {
    static let postgresColumns = "appID, id, sealed, locale, timezone, preferences, createdAt, updatedAt"

    init(postgres row: PostgresRow) throws {
        (appID, id, sealed, locale, timezone, preferences, createdAt, updatedAt) = try row.decode(
            (String, String, Data?, String?, String?, String?, Int64, Int64).self)
    }
}

extension ChannelRecord {
    static let postgresColumns = "id, appID, type, name, directKey, lastSeq, lastActivityAt, createdAt"

    init(postgres row: PostgresRow) throws {
        (id, appID, type, name, directKey, lastSeq, lastActivityAt, createdAt) = try row.decode(
            (String, String, String, String?, String?, Int64, Int64, Int64).self)
    }
}

extension MessageRecord {
    static let postgresColumns = "id, channelID, seq, sender, sealed, createdAt, editedAt, deletedAt"

    init(postgres row: PostgresRow) throws {
        (id, channelID, seq, sender, sealed, createdAt, editedAt, deletedAt) = try row.decode(
            (String, String, Int64, String?, Data?, Int64, Int64?, Int64?).self)
    }
}
