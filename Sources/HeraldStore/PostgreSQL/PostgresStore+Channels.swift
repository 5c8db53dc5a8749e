import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {
    public func createChannel(_ new: NewChannel, in app: AppID) async throws -> (channel: HeraldCore.Channel, created: Bool) {
        let time = nowMilliseconds()
        let id = ChannelID.generate()
        let appKey = try await appKey(app)
        let record = try ChannelRecord(new, id: id, app: app, appKey: appKey, time: time)
        return try await database.transaction { connection in
            try await Self.checkUsersExist(new.members, in: app, on: connection)
            // The (appID, directKey) constraint makes a direct channel unique across nodes: a second
            // creation waits for the first to commit, inserts nothing, and reads the first one's channel.
            let inserted = try await connection.rows(
                """
                INSERT INTO channel (id, appID, type, directKey, lastSeq, lastActivityAt, createdAt, sealedName)
                VALUES (\(id), \(app), \(new.type), \(new.directKey), 0, \(time), \(time), \(record.sealedName))
                ON CONFLICT (appID, directKey) DO NOTHING RETURNING id
                """)
            guard !inserted.isEmpty else {
                guard let directKey = new.directKey,
                    let existing = try await connection.rows(
                        "SELECT \(unescaped: ChannelRecord.postgresColumns) FROM channel WHERE appID = \(app) AND directKey = \(directKey)"
                    ).first
                else { throw HeraldError.conflict(detail: "The channel could not be created.") }
                return (try await Self.channel(ChannelRecord(postgres: existing), appKey: appKey, on: connection), false)
            }
            try await connection.execute(
                """
                INSERT INTO channelMember (channelID, appID, userID, lastReadSeq, joinedAt)
                SELECT \(id), \(app), member, 0, \(time) FROM unnest(\(new.members.map(\.rawValue))::text[]) AS member
                """)
            return (try record.channel(members: new.members, appKey: appKey), true)
        }
    }

    public func channel(_ id: ChannelID, in app: AppID) async throws -> HeraldCore.Channel? {
        guard let record = try await Self.channelRecord(id, in: app, on: database) else { return nil }
        return try await Self.channel(record, appKey: try await appKey(app), on: database)
    }

    public func addMembers(_ users: [UserID], to channel: ChannelID, in app: AppID) async throws -> HeraldCore.Channel {
        let time = nowMilliseconds()
        let appKey = try await appKey(app)
        return try await database.transaction { connection in
            guard let record = try await Self.channelRecord(channel, in: app, on: connection, lock: true) else {
                throw HeraldError.notFound(resource: "channel")
            }
            try Access.checkCanChangeMembers(of: record.channel(members: [], appKey: nil))
            try await Self.checkUsersExist(users, in: app, on: connection)
            // A new member starts with everything before joining read, so history is not "unread".
            try await connection.execute(
                """
                INSERT INTO channelMember (channelID, appID, userID, lastReadSeq, joinedAt)
                SELECT \(record.id), \(app), member, \(record.lastSeq), \(time) FROM unnest(\(users.map(\.rawValue))::text[]) AS member
                ON CONFLICT DO NOTHING
                """)
            return try await Self.channel(record, appKey: appKey, on: connection)
        }
    }

    public func removeMember(_ user: UserID, from channel: ChannelID, in app: AppID) async throws -> HeraldCore.Channel {
        let appKey = try await appKey(app)
        return try await database.transaction { connection in
            guard let record = try await Self.channelRecord(channel, in: app, on: connection, lock: true) else {
                throw HeraldError.notFound(resource: "channel")
            }
            try Access.checkCanChangeMembers(of: record.channel(members: [], appKey: nil))
            let deleted = try await connection.rows("DELETE FROM channelMember WHERE channelID = \(record.id) AND userID = \(user) RETURNING 1")
            guard !deleted.isEmpty else { throw HeraldError.notFound(resource: "member") }
            return try await Self.channel(record, appKey: appKey, on: connection)
        }
    }

    public func channelSummaries(of user: UserID, in app: AppID) async throws -> [ChannelSummary] {
        let appKey = try await appKey(app)
        // One statement: each channel with the user's read position, unread count and last message.
        let rows = try await database.rows(
            """
            SELECT \(unescaped: ChannelRecord.postgresColumns.split(separator: ",").map { "c." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")),
                m.lastReadSeq,
                (SELECT count(*) FROM message WHERE message.channelID = c.id AND seq > m.lastReadSeq AND deletedAt IS NULL
                    AND (sender IS NULL OR sender <> \(user))),
                last.id, last.channelID, last.seq, last.sender, last.sealed, last.createdAt, last.editedAt, last.deletedAt,
                (SELECT array_agg(userID ORDER BY joinedAt, userID COLLATE "C") FROM channelMember WHERE channelID = c.id)
            FROM channelMember m JOIN channel c ON c.id = m.channelID
            LEFT JOIN LATERAL (SELECT \(unescaped: MessageRecord.postgresColumns) FROM message WHERE message.channelID = c.id ORDER BY seq DESC LIMIT 1)
                last ON true
            WHERE m.appID = \(app) AND m.userID = \(user)
            ORDER BY c.lastActivityAt DESC, c.id
            """)
        var summaries: [ChannelSummary] = []
        for row in rows {
            let columns = try row.decode(
                (
                    ChannelID, AppID, HeraldCore.Channel.Kind, String?, String?, Int64, Int64, Int64, Data?, Int64, Int64,
                    MessageID?, ChannelID?, Int64?, UserID?, Data?, Int64?, Int64?, Int64?, [UserID]
                ).self)
            let record = ChannelRecord(
                id: columns.0, appID: columns.1, type: columns.2, name: columns.3, directKey: columns.4, lastSeq: columns.5, lastActivityAt: columns.6,
                createdAt: columns.7, sealedName: columns.8)
            var last: Message?
            if let id = columns.11, let channelID = columns.12, let seq = columns.13, let createdAt = columns.16 {
                let message = MessageRecord(
                    id: id, channelID: channelID, seq: seq, sender: columns.14, sealed: columns.15, createdAt: createdAt, editedAt: columns.17,
                    deletedAt: columns.18)
                last = try message.message(key: message.deletedAt == nil ? try await keys.key(message.owner, in: app) : nil)
            }
            summaries.append(
                ChannelSummary(
                    channel: try record.channel(members: columns.19, appKey: appKey), unreadCount: Int(columns.10),
                    lastReadSeq: columns.9,
                    lastMessage: last))
        }
        return summaries
    }

    public func markRead(_ channel: ChannelID, upTo seq: Int64, by user: UserID, in app: AppID) async throws -> ReadPosition {
        guard let record = try await Self.channelRecord(channel, in: app, on: database) else { throw HeraldError.notFound(resource: "channel") }
        // One statement, so concurrent marks (from several devices, on several nodes) only move forward.
        let position = try await database.value(
            """
            UPDATE channelMember SET lastReadSeq = GREATEST(lastReadSeq, LEAST(\(seq), (SELECT lastSeq FROM channel WHERE id = \(record.id))))
            WHERE channelID = \(record.id) AND userID = \(user) RETURNING lastReadSeq
            """, as: Int64.self)
        guard let position else { throw Access.notMember }
        return ReadPosition(channelId: channel, userId: user, seq: position)
    }

    public func markRead(_ marks: [ReadMark]) async throws -> [(app: AppID, position: ReadPosition)] {
        guard !marks.isEmpty else { return [] }
        // One statement for the whole batch: positions only move forward, as in `markRead` above. Rows
        // are locked in the planner's order, so two nodes' batches may deadlock: in a transaction, which
        // retries the side PostgreSQL aborts.
        let marks = ReadMark.coalesced(marks)
        let rows = try await database.transaction { connection in
            try await connection.rows(
            """
            UPDATE channelMember AS m SET lastReadSeq = LEAST(v.seq, c.lastSeq)
            FROM unnest(\(marks.map(\.app)), \(marks.map(\.channel)), \(marks.map(\.user)), \(marks.map(\.seq)))
                AS v(appID, channelID, userID, seq)
            JOIN channel AS c ON c.id = v.channelID AND c.appID = v.appID
            WHERE m.channelID = v.channelID AND m.userID = v.userID AND LEAST(v.seq, c.lastSeq) > m.lastReadSeq
            RETURNING v.appID, m.channelID, m.userID, m.lastReadSeq
            """)
        }
        let moved = try rows.map { row in
            let (app, channel, user, seq) = try row.decode((AppID, ChannelID, UserID, Int64).self)
            return (app: app, position: ReadPosition(channelId: channel, userId: user, seq: seq))
        }
        // In the batch's order, as SQLite returns them (RETURNING follows the planner's).
        return moved.sorted { ($0.position.channelId, $0.position.userId) < ($1.position.channelId, $1.position.userId) }
    }

    static func channelRecord(_ id: ChannelID, in app: AppID, on runner: some PostgresQueryRunner, lock: Bool = false) async throws -> ChannelRecord? {
        try await runner.rows(
            "SELECT \(unescaped: ChannelRecord.postgresColumns) FROM channel WHERE id = \(id) AND appID = \(app)\(unescaped: lock ? " FOR UPDATE" : "")"
        ).first.map(ChannelRecord.init(postgres:))
    }

    static func memberIDs(of channel: ChannelID, on runner: some PostgresQueryRunner) async throws -> [UserID] {
        try await runner.values("SELECT userID FROM channelMember WHERE channelID = \(channel) ORDER BY joinedAt, userID COLLATE \"C\"", as: UserID.self)
    }

    static func channel(_ record: ChannelRecord, appKey: DataKey, on runner: some PostgresQueryRunner) async throws -> HeraldCore.Channel {
        try record.channel(members: try await memberIDs(of: record.id, on: runner), appKey: appKey)
    }

    /// Refuses unknown users, naming each by its position in the list.
    static func checkUsersExist(_ users: [UserID], in app: AppID, on runner: some PostgresQueryRunner) async throws {
        let known = Set(try await runner.values("SELECT id FROM \"user\" WHERE appID = \(app) AND id = ANY(\(users.map(\.rawValue)))", as: String.self))
        let problems = users.enumerated().filter { !known.contains($0.element.rawValue) }.map {
            FieldProblem(field: "members[\($0.offset)]", reason: .unknownUser, detail: "no user \($0.element) in this app")
        }
        if !problems.isEmpty { throw HeraldError.invalid(problems) }
    }
}
