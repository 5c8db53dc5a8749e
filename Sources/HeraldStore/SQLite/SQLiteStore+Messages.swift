import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func append(_ request: AppendRequest) async throws -> AppendResult {
        try await writer.submit(.append(request, at: now()))
    }

    public func editMessage(_ id: MessageID, in channel: ChannelID, app: AppID, content: MessageContent, signer: MessageSigner?) async throws -> Message {
        try await writer.submit(.edit(id, channel: channel, app: app, content: content, signer: signer, at: now())).message
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
            var request = MessageRecord.filter(MessageRecord.Columns.channelID == channel.rawValue)
            if let after = query.after { request = request.filter(MessageRecord.Columns.seq > after) }
            if let before = query.before { request = request.filter(MessageRecord.Columns.seq < before) }
            let ordered = query.isBackward ? request.order(MessageRecord.Columns.seq.desc) : request.order(MessageRecord.Columns.seq)
            var records = try ordered.limit(query.limit + 1).fetchAll(db)
            let hasMore = records.count > query.limit
            records = Array(records.prefix(query.limit))
            if query.isBackward { records.reverse() }
            return MessagePage(messages: records.map { $0.message(app: app, keys: keys) }, hasMore: hasMore)
        }
    }
}
