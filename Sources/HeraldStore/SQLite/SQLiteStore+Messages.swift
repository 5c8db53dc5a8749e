import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func append(_ request: AppendRequest) async throws -> AppendResult {
        try await writer.submit(.append(request, at: now(), prepared: PreparedAppend(request, keys: keys)))
    }

    public func appendAll(_ requests: [AppendRequest]) async -> [Result<AppendResult, any Error>] {
        let time = now()
        return await writer.submitAll(requests.map { .append($0, at: time, prepared: PreparedAppend($0, keys: keys)) })
    }

    public func editMessage(
        _ id: MessageID, in channel: ChannelID, app: AppID, content: MessageContent, signer: MessageSigner?, byBusiness: Bool
    ) async throws -> Message {
        try await writer.submit(.edit(id, channel: channel, app: app, content: content, signer: signer, byBusiness: byBusiness, at: now())).message
    }

    public func deleteMessage(_ id: MessageID, in channel: ChannelID, app: AppID) async throws -> Message {
        try await writer.submit(.delete(id, channel: channel, app: app, at: now())).message
    }

    public func message(_ id: MessageID, in channel: ChannelID, app: AppID) async throws -> Message? {
        try await pool.read { db in
            guard try Self.channelRecord(channel, in: app, db: db) != nil else { return nil }
            return try MessageRecord.filter(MessageRecord.Columns.id == id.rawValue && MessageRecord.Columns.channelID == channel.rawValue)
                .fetchOne(db)?.message(app: app, keys: keys)
        }
    }

    public func history(of channel: ChannelID, in app: AppID, query: HistoryQuery) async throws -> MessagePage {
        try await pool.read { db in
            guard try Self.channelRecord(channel, in: app, db: db) != nil else { throw HeraldError.notFound(resource: "channel") }
            // Two fixed statements (one per order), prepared once per connection: pages are the hottest read.
            let bounds = query.bounds
            let (records, hasMore) = query.page(
                try MessageRecord.fetchAll(
                    db.cachedStatement(sql: "SELECT * FROM message WHERE channelID = ? AND seq > ? AND seq < ? ORDER BY seq \(bounds.order) LIMIT ?"),
                    arguments: [channel, bounds.after, bounds.before, bounds.fetch]))
            return MessagePage(messages: try records.map { try $0.message(app: app, keys: keys) }, hasMore: hasMore)
        }
    }
}

extension SQLiteStore {
    /// Recent pages of a channel whose readers are known are written from memory (`RecentMessages`,
    /// `ObservedTableCache`), with no hop to a reader's thread; others are read with one.
    public func historyPage(of channel: ChannelID, in app: AppID, query: HistoryQuery, member: UserID?) async throws -> [UInt8] {
        let known = channelReaders.value(for: channel)
        if let known {
            try Self.check(known, app: app, member: member)
            if let page = recentMessages.page(of: channel, query: query) { return page }
        }
        let generation = channelReaders.generation()
        return try await pool.read { [keys, channelReaders, recentMessages] db in
            if known == nil {
                guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM channel WHERE id = ? AND appID = ?"), arguments: [channel, app]) != nil else {
                    throw HeraldError.notFound(resource: "channel")
                }
                // Channels of up to 1,000 members are remembered; larger ones are checked member by member.
                let members = try UserID.fetchAll(db.cachedStatement(sql: "SELECT userID FROM channelMember WHERE channelID = ? LIMIT 1001"), arguments: [channel])
                if members.count <= 1_000 {
                    let readers = ChannelReaders(app: app, members: Set(members))
                    channelReaders.remember(readers, for: channel, readIn: generation)
                    try Self.check(readers, app: app, member: member)
                    if let page = recentMessages.page(of: channel, query: query) { return page }
                } else if let member,
                    try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM channelMember WHERE channelID = ? AND userID = ?"), arguments: [channel, member]) == nil
                {
                    throw Access.notMember
                }
            }
            let bounds = query.bounds
            // Columns read by index through a cursor over the statement: no record, and no copy of
            // the sealed bytes before they are opened.
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: """
                        SELECT id, seq, sender, sealed, createdAt, editedAt, deletedAt FROM message
                        WHERE channelID = ? AND seq > ? AND seq < ? ORDER BY seq \(bounds.order) LIMIT ?
                        """),
                arguments: [channel, bounds.after, bounds.before, bounds.fetch])
            var page = HistoryPageWriter(channel: channel, expected: query.limit, newestFirst: query.isBackward)
            var owners = OwnerKeys(app: app, keys: keys)
            while page.count < query.limit, let row = try rows.next() {
                let rawID: String = try row.decode(atIndex: 0)
                guard let id = MessageID(rawValue: rawID) else { throw StoreCorruption.undecodableRow }
                let deleted = try row.decode(Int64?.self, atIndex: 6) != nil
                let (sender, key) = try owners.owner(row.decode(String?.self, atIndex: 2), opening: !deleted)
                let content = try deleted ? nil : row.withUnsafeData(atIndex: 3) { sealed -> Data? in
                    guard let sealed, let key else { return nil }
                    do {
                        return try key.open(sealed, context: SealingContext.message(channel: channel, id: id))
                    } catch {
                        throw StoreCorruption(table: MessageRecord.databaseTableName, id: id.rawValue)
                    }
                }
                try page.append(
                    id: id, seq: row.decode(atIndex: 1), sender: sender, createdAt: row.decode(atIndex: 4), editedAt: row.decode(atIndex: 5),
                    deleted: deleted, content: content)
            }
            return page.finish(hasMore: try rows.next() != nil)
        }
    }
}

extension SQLiteStore {
    /// `historyPage`'s checks on a channel's readers: the caller's app (else `notFound`, as for a channel
    /// that does not exist) and, when given, a member.
    fileprivate static func check(_ readers: ChannelReaders, app: AppID, member: UserID?) throws(HeraldError) {
        guard readers.app == app else { throw .notFound(resource: "channel") }
        if let member, !readers.members.contains(member) { throw Access.notMember }
    }
}

/// The senders of a page and their data keys, each looked up once (a page has few senders).
private struct OwnerKeys {
    let app: AppID
    let keys: KeyRing
    private var appKey: DataKey??
    private var users: [String: (UserID, DataKey?)] = [:]

    init(app: AppID, keys: KeyRing) {
        self.app = app
        self.keys = keys
    }

    /// The sender stored as `raw` (nil: the business) and, when `opening`, the key that opens what they
    /// sent (nil once erased); a tombstone needs no key.
    mutating func owner(_ raw: String?, opening: Bool) throws -> (UserID?, DataKey?) {
        guard opening else {
            guard let raw else { return (nil, nil) }
            guard let user = UserID(rawValue: raw) else { throw StoreCorruption.undecodableRow }
            return (user, nil)
        }
        guard let raw else {
            if let appKey { return (nil, appKey) }
            let key = try keys.key(.app, in: app)
            appKey = .some(key)
            return (nil, key)
        }
        if let known = users[raw] { return known }
        guard let user = UserID(rawValue: raw) else { throw StoreCorruption.undecodableRow }
        let found = (user, try keys.key(.user(user), in: app))
        users[raw] = found
        return found
    }
}
