import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func append(_ request: AppendRequest) async throws -> AppendResult {
        try await writer.submit(.append(request, at: now()))
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
            // A handful of fixed statements (with or without each bound, either order), prepared once per
            // connection: pages are the hottest read.
            var sql = "SELECT * FROM message WHERE channelID = ?"
            var arguments: StatementArguments = [channel.rawValue]
            if let after = query.after {
                sql += " AND seq > ?"
                arguments += [after]
            }
            if let before = query.before {
                sql += " AND seq < ?"
                arguments += [before]
            }
            sql += query.isBackward ? " ORDER BY seq DESC LIMIT ?" : " ORDER BY seq LIMIT ?"
            arguments += [query.limit + 1]
            var records = try MessageRecord.fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
            let hasMore = records.count > query.limit
            records = Array(records.prefix(query.limit))
            if query.isBackward { records.reverse() }
            return MessagePage(messages: try records.map { try $0.message(app: app, keys: keys) }, hasMore: hasMore)
        }
    }
}
