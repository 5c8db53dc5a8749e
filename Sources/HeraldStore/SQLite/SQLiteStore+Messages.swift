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
