import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func createChannel(_ new: NewChannel, in app: AppID) async throws -> (channel: Channel, created: Bool) {
        let time = nowMilliseconds()
        let appKey = try appKey(app)
        return try await pool.write { db in
            try Self.checkUsersExist(new.members, in: app, db: db)
            if let directKey = new.directKey,
                let existing = try ChannelRecord.filter(ChannelRecord.Columns.appID == app.rawValue && ChannelRecord.Columns.directKey == directKey)
                    .fetchOne(db)
            {
                return (try Self.channel(existing, appKey: appKey, db: db), false)
            }
            let record = try ChannelRecord(new, id: ChannelID.generate(), app: app, appKey: appKey, time: time)
            try record.insert(db)
            for member in new.members {
                try MemberRecord(channelID: record.id, appID: app, userID: member, lastReadSeq: 0, joinedAt: time).insert(db)
            }
            return (try record.channel(members: new.members, appKey: appKey), true)
        }
    }

    public func channel(_ id: ChannelID, in app: AppID) async throws -> Channel? {
        let appKey = try appKey(app)
        return try await pool.read { db in
            guard let record = try Self.channelRecord(id, in: app, db: db) else { return nil }
            return try Self.channel(record, appKey: appKey, db: db)
        }
    }

    public func addMembers(_ users: [UserID], to channel: ChannelID, in app: AppID) async throws -> Channel {
        let time = nowMilliseconds()
        let appKey = try appKey(app)
        return try await pool.write { db in
            guard let record = try Self.channelRecord(channel, in: app, db: db) else { throw HeraldError.notFound(resource: "channel") }
            try Access.checkCanChangeMembers(of: record.channel(members: [], appKey: nil))
            try Self.checkUsersExist(users, in: app, db: db)
            for user in users {
                // A new member starts with everything before joining read, so history is not "unread".
                try MemberRecord(channelID: record.id, appID: app, userID: user, lastReadSeq: record.lastSeq, joinedAt: time)
                    .insert(db, onConflict: .ignore)
            }
            return try Self.channel(record, appKey: appKey, db: db)
        }
    }

    public func removeMember(_ user: UserID, from channel: ChannelID, in app: AppID) async throws -> Channel {
        let appKey = try appKey(app)
        return try await pool.write { db in
            guard let record = try Self.channelRecord(channel, in: app, db: db) else { throw HeraldError.notFound(resource: "channel") }
            try Access.checkCanChangeMembers(of: record.channel(members: [], appKey: nil))
            let deleted = try MemberRecord.deleteOne(db, key: ["channelID": record.id, "userID": user.rawValue])
            guard deleted else { throw HeraldError.notFound(resource: "member") }
            return try Self.channel(record, appKey: appKey, db: db)
        }
    }

    public func channelSummaries(of user: UserID, in app: AppID) async throws -> [ChannelSummary] {
        let appKey = try appKey(app)
        return try await pool.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT channel.*, channelMember.lastReadSeq AS memberLastReadSeq FROM channelMember
                    JOIN channel ON channel.id = channelMember.channelID
                    WHERE channelMember.appID = ? AND channelMember.userID = ?
                    ORDER BY channel.lastActivityAt DESC, channel.id
                    """, arguments: [app.rawValue, user.rawValue])
            return try rows.map { row in
                let record = try ChannelRecord(row: row)
                let lastReadSeq: Int64 = try row.decode(forColumn: "memberLastReadSeq")
                let unread = try Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*) FROM message WHERE channelID = ? AND seq > ? AND deletedAt IS NULL
                        AND (sender IS NULL OR sender != ?)
                        """, arguments: [record.id, lastReadSeq, user.rawValue]) ?? 0
                let last = try MessageRecord.filter(MessageRecord.Columns.channelID == record.id)
                    .order(MessageRecord.Columns.seq.desc).fetchOne(db)
                return ChannelSummary(channel: try Self.channel(record, appKey: appKey, db: db), unreadCount: unread, lastReadSeq: lastReadSeq, lastMessage: try last?.message(app: app, keys: keys))
            }
        }
    }

    public func markRead(_ channel: ChannelID, upTo seq: Int64, by user: UserID, in app: AppID) async throws -> ReadPosition {
        try await pool.write { db in
            guard let record = try Self.channelRecord(channel, in: app, db: db) else { throw HeraldError.notFound(resource: "channel") }
            guard let member = try MemberRecord.fetchOne(db, key: ["channelID": record.id, "userID": user.rawValue]) else {
                throw Access.notMember
            }
            let position = max(member.lastReadSeq, min(seq, record.lastSeq))
            if position != member.lastReadSeq {
                try MemberRecord.filter(key: ["channelID": record.id, "userID": user.rawValue])
                    .updateAll(db, MemberRecord.Columns.lastReadSeq.set(to: position))
            }
            return ReadPosition(channelId: channel, userId: user, seq: position)
        }
    }

    public func markRead(_ marks: [ReadMark]) async throws -> [(app: AppID, position: ReadPosition)] {
        guard !marks.isEmpty else { return [] }
        return try await pool.write { db in
            var moved: [(app: AppID, position: ReadPosition)] = []
            for mark in ReadMark.coalesced(marks) {
                guard let record = try Self.channelRecord(mark.channel, in: mark.app, db: db),
                    let member = try MemberRecord.fetchOne(db, key: ["channelID": record.id, "userID": mark.user.rawValue])
                else { continue }
                let position = max(member.lastReadSeq, min(mark.seq, record.lastSeq))
                guard position != member.lastReadSeq else { continue }
                try MemberRecord.filter(key: ["channelID": record.id, "userID": mark.user.rawValue])
                    .updateAll(db, MemberRecord.Columns.lastReadSeq.set(to: position))
                moved.append((mark.app, ReadPosition(channelId: mark.channel, userId: mark.user, seq: position)))
            }
            return moved
        }
    }

    /// A prepared statement, cached per connection: this runs for every message written, and building
    /// the SQL anew with the query interface was a tenth of the writer's time.
    static func channelRecord(_ id: ChannelID, in app: AppID, db: Database) throws -> ChannelRecord? {
        try ChannelRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM channel WHERE id = ? AND appID = ?"), arguments: [id.rawValue, app.rawValue])
    }

    static func memberIDs(of channel: ChannelID, db: Database) throws -> [UserID] {
        try UserID.fetchAll(db.cachedStatement(sql: "SELECT userID FROM channelMember WHERE channelID = ? ORDER BY joinedAt, userID"), arguments: [channel])
    }

    static func channel(_ record: ChannelRecord, appKey: DataKey, db: Database) throws -> Channel {
        try record.channel(members: try memberIDs(of: record.id, db: db), appKey: appKey)
    }

    /// Refuses unknown users, naming each by its position in the list.
    static func checkUsersExist(_ users: [UserID], in app: AppID, db: Database) throws {
        let known = try Set(
            String.fetchAll(
                db, UserRecord.select(UserRecord.Columns.id)
                    .filter(UserRecord.Columns.appID == app.rawValue && users.map(\.rawValue).contains(UserRecord.Columns.id))))
        let problems = users.enumerated().filter { !known.contains($0.element.rawValue) }.map {
            FieldProblem(field: "members[\($0.offset)]", reason: .unknownUser, detail: "no user \($0.element) in this app")
        }
        if !problems.isEmpty { throw HeraldError.invalid(problems) }
    }
}
