import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {
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
        guard let row = try await database.rows(
            """
            SELECT \(unescaped: MessageRecord.postgresColumns) FROM message
            WHERE id = \(id) AND channelID = \(channel) AND channelID IN (SELECT id FROM channel WHERE appID = \(app))
            """
        ).first else { return nil }
        return try await opened(MessageRecord(postgres: row), app: app)
    }

    public func history(of channel: ChannelID, in app: AppID, query: HistoryQuery) async throws -> MessagePage {
        guard try await Self.channelRecord(channel, in: app, on: database) != nil else { throw HeraldError.notFound(resource: "channel") }
        // Unbounded sides are the extremes of bigint, so one statement text (prepared once per
        // connection by PostgreSQL's plan cache) serves every page.
        let after = query.after ?? Int64.min
        let before = query.before ?? Int64.max
        let limit = Int64(query.limit + 1)
        let order = query.isBackward ? "DESC" : "ASC"
        var records = try await database.rows(
            """
            SELECT \(unescaped: MessageRecord.postgresColumns) FROM message
            WHERE channelID = \(channel) AND seq > \(after) AND seq < \(before) ORDER BY seq \(unescaped: order) LIMIT \(limit)
            """
        ).map(MessageRecord.init(postgres:))
        let hasMore = records.count > query.limit
        records = Array(records.prefix(query.limit))
        if query.isBackward { records.reverse() }
        let owners = Set(records.map(\.owner))
        var keysByOwner: [KeyOwner: DataKey] = [:]
        for owner in owners { keysByOwner[owner] = try await keys.key(owner, in: app) }
        return MessagePage(messages: try records.map { try $0.message(key: $0.deletedAt == nil ? keysByOwner[$0.owner] : nil) }, hasMore: hasMore)
    }

    func opened(_ record: MessageRecord, app: AppID) async throws -> Message {
        try record.message(key: record.deletedAt == nil ? try await keys.key(record.owner, in: app) : nil)
    }
}
