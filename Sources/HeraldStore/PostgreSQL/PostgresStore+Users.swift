import Foundation
public import HeraldCore
import NIOCore
import PostgresNIO

extension PostgresStore {
    public func putUser(_ id: UserID, profile: UserProfile, in app: AppID) async throws -> (user: User, created: Bool) {
        let time = nowMilliseconds()
        // Read anew, never from the cache: another node may have erased this id (and destroyed its key)
        // without this node hearing of it yet, and a profile must never be sealed with a destroyed key.
        keys.forget(id, in: app)
        let key = try await keys.existingOrNewKey(.user(id), in: app)
        let appKey = try await keys.existingOrNewKey(.app, in: app)
        let sealed = try UserRecord.seal(profile, app: app, id: id, key: key)
        let tags = profile.metadata.compactMap { UserTags.tag(key: $0.key, value: $0.value, appKey: appKey).map { ByteBuffer(bytes: $0) } }
        return try await database.transaction { connection in
            // When a journey needs profile events, the metadata before this write (read under the row's
            // lock, so a concurrent write cannot slip between): `[:]` for a customer not there yet.
            var profileEventState: [String: JSONValue]?
            var binds = PostgresBindings()
            try binds.append(app)
            for needle in JourneyRules.profileEventNeedles { binds.append(needle) }
            let needlePlaceholders = JourneyRules.profileEventNeedles.indices.map { "$\($0 + 2)" }
            if try await connection.value(
                PostgresQuery(unsafeSQL: JourneyRules.namesProfileEventsSQL(app: "$1", needles: needlePlaceholders, sqlite: false), binds: binds), as: Bool.self)
                ?? false
            {
                let old = try await connection.rows(
                    "SELECT \(unescaped: UserRecord.postgresColumns) FROM \"user\" WHERE appID = \(app) AND id = \(id) FOR UPDATE"
                ).first.map(UserRecord.init(postgres:))
                profileEventState = old.flatMap { try? $0.user(key: key).metadata } ?? [:]
            }
            // `xmax = 0` tells an inserted row from an updated one.
            let row = try await connection.rows(
                """
                INSERT INTO "user" (appID, id, sealed, locale, timezone, createdAt, updatedAt)
                VALUES (\(app), \(id), \(sealed), \(profile.locale), \(profile.timezone), \(time), \(time))
                ON CONFLICT (appID, id) DO UPDATE SET sealed = excluded.sealed, locale = excluded.locale, timezone = excluded.timezone,
                    updatedAt = excluded.updatedAt
                RETURNING \(unescaped: UserRecord.postgresColumns), xmax = 0
                """
            ).first!
            let record = try UserRecord(postgres: row)
            let created = try row.decode((String, String, Data?, String?, String?, String?, Int64, Int64, Bool).self).8
            if created { try await Self.setTokenEpoch(of: id, in: app, on: connection) }
            if let previous = profileEventState {
                let (event, outbox) = try JourneyRules.profileEvent(
                    id, metadata: profile.metadata, previous: created ? nil : previous, app: app, at: time, key: key)
                try await connection.execute(
                    """
                    INSERT INTO customerEvent (id, appID, userID, name, sealed, recordedAt)
                    VALUES (\(event.id), \(event.appID), \(event.userID), \(event.name), \(event.sealed), \(event.recordedAt))
                    """)
                try await Self.insertOutbox(try OutboxRow.rows([outbox], app: app, appKey: appKey), app: app, now: time, on: connection)
            }
            try await connection.execute("DELETE FROM userTag WHERE appID = \(app) AND userID = \(id)")
            if !tags.isEmpty {
                try await connection.execute(
                    """
                    INSERT INTO userTag (appID, userID, tag) SELECT \(app), \(id), tag FROM unnest(\(tags)::bytea[]) AS tag
                    ON CONFLICT DO NOTHING
                    """)
            }
            return (try record.user(key: key), created)
        }
    }

    public func tokenEpoch(of user: UserID, in app: AppID) async throws -> String? {
        try await database.value(
            """
            SELECT COALESCE(t.epoch, '') FROM "user" u LEFT JOIN userTokenEpoch t ON t.appID = u.appID AND t.userID = u.id
            WHERE u.appID = \(app) AND u.id = \(user)
            """, as: String.self)
    }

    /// Never known without a read: another node of the cluster may have revoked it.
    public func cachedTokenEpoch(ofActive user: UserID, in app: AppID) -> String? { nil }

    public func revokeTokens(of user: UserID, in app: AppID) async throws -> Bool {
        try await database.transaction { connection in
            guard try await connection.value("SELECT 1 FROM \"user\" WHERE appID = \(app) AND id = \(user) FOR UPDATE", as: Int.self) != nil else {
                return false
            }
            try await Self.setTokenEpoch(of: user, in: app, on: connection)
            return true
        }
    }

    private static func setTokenEpoch(of user: UserID, in app: AppID, on connection: PostgresConnection) async throws {
        try await connection.execute(
            """
            INSERT INTO userTokenEpoch (appID, userID, epoch) VALUES (\(app), \(user), \(RandomToken.base32(byteCount: 10)))
            ON CONFLICT (appID, userID) DO UPDATE SET epoch = excluded.epoch
            """)
    }

    public func user(_ id: UserID, in app: AppID) async throws -> User? {
        guard let row = try await database.rows(
            "SELECT \(unescaped: UserRecord.postgresColumns) FROM \"user\" WHERE appID = \(app) AND id = \(id)"
        ).first else { return nil }
        do {
            return try UserRecord(postgres: row).user(key: try await keys.key(.user(id), in: app))
        } catch HeraldError.notFound {
            return nil
        }
    }

    public func recipients(_ ids: [UserID], in app: AppID) async throws -> [Recipient] {
        try await database.rows(
            "SELECT \(unescaped: UserRecord.postgresColumns) FROM \"user\" WHERE appID = \(app) AND id = ANY(\(ids.map(\.rawValue)))"
        ).map { try UserRecord(postgres: $0).recipient() }
    }

    public func recipients(in segment: Segment, app: AppID, after: UserID?, limit: Int) async throws -> [Recipient] {
        guard let appKey = try await keys.key(.app, in: app) else { return [] }
        var tags: [ByteBuffer] = []
        for (key, value) in segment.metadata {
            guard let tag = UserTags.tag(key: key, value: value, appKey: appKey) else { return [] }
            tags.append(ByteBuffer(bytes: tag))
        }
        // Users carrying every tag of the segment (all users of the app for an empty one).
        return try await database.rows(
            """
            SELECT \(unescaped: UserRecord.postgresColumns) FROM "user" WHERE appID = \(app)
            AND (SELECT count(DISTINCT tag) FROM userTag WHERE userTag.appID = "user".appID AND userTag.userID = "user".id
                 AND tag = ANY(\(tags)::bytea[])) = \(Set(tags).count)
            AND id COLLATE "C" > \(after?.rawValue ?? "") ORDER BY id COLLATE "C" LIMIT \(Int64(limit))
            """
        ).map { try UserRecord(postgres: $0).recipient() }
    }

    public func updatePreferences(
        of user: UserID, in app: AppID, _ update: @Sendable (UserPreferences) throws -> UserPreferences
    ) async throws -> UserPreferences {
        let time = nowMilliseconds()
        let key = try await keys.key(.user(user), in: app)
        return try await database.transaction { connection in
            guard let row = try await connection.rows(
                "SELECT \(unescaped: UserRecord.postgresColumns) FROM \"user\" WHERE appID = \(app) AND id = \(user) FOR UPDATE"
            ).first else { throw HeraldError.notFound(resource: "user") }
            let current = try UserRecord(postgres: row).decodedPreferences()
            let updated = try update(current)
            let json = String(decoding: try JSONEncoder().encode(updated), as: UTF8.self)
            try await connection.execute("UPDATE \"user\" SET preferences = \(json) WHERE appID = \(app) AND id = \(user)")
            if updated.consents.marketing != current.consents.marketing {
                try await connection.execute(
                    """
                    INSERT INTO consentChange (appID, userID, consent, granted, at)
                    VALUES (\(app), \(user), 'marketing', \(updated.consents.marketing), \(time))
                    """)
            }
            if updated != current, let key {
                var binds = PostgresBindings()
                try binds.append(app)
                for needle in JourneyRules.preferencesEventNeedles { binds.append(needle) }
                let placeholders = JourneyRules.preferencesEventNeedles.indices.map { "$\($0 + 2)" }
                if try await connection.value(
                    PostgresQuery(unsafeSQL: JourneyRules.namesProfileEventsSQL(app: "$1", needles: placeholders, sqlite: false), binds: binds), as: Bool.self)
                    ?? false
                {
                    let (event, outbox) = try JourneyRules.preferencesEvent(user, preferences: updated, previous: current, app: app, at: time, key: key)
                    try await connection.execute(
                        """
                        INSERT INTO customerEvent (id, appID, userID, name, sealed, recordedAt)
                        VALUES (\(event.id), \(event.appID), \(event.userID), \(event.name), \(event.sealed), \(event.recordedAt))
                        """)
                    try await Self.insertOutbox(try OutboxRow.rows([outbox], app: app, appKey: nil), app: app, now: time, on: connection)
                }
            }
            return updated
        }
    }
}
