import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {
    public func append(_ request: AppendRequest) async throws -> AppendResult {
        try await writer.submit(.append(request, at: now()))
    }

    public func appendAll(_ requests: [AppendRequest]) async -> [Result<AppendResult, any Error>] {
        let time = now()
        return await writer.submitAll(requests.map { .append($0, at: time) })
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
        let (records, hasMore, keysByOwner) = try await pageRecords(of: channel, in: app, query: query, member: nil)
        return MessagePage(messages: try records.map { try $0.message(key: $0.deletedAt == nil ? keysByOwner[$0.owner] : nil) }, hasMore: hasMore)
    }

    public func historyPage(of channel: ChannelID, in app: AppID, query: HistoryQuery, member: UserID?) async throws -> [UInt8] {
        let (records, hasMore, keysByOwner) = try await pageRecords(of: channel, in: app, query: query, member: member)
        var page = HistoryPageWriter(channel: channel, expected: records.count, newestFirst: false)
        for record in records { try page.append(record, key: keysByOwner[record.owner]) }
        return page.finish(hasMore: hasMore)
    }

    /// A page's rows in seq order, after the checks `historyPage` documents, with their owners' keys.
    private func pageRecords(
        of channel: ChannelID, in app: AppID, query: HistoryQuery, member: UserID?
    ) async throws -> (records: [MessageRecord], hasMore: Bool, keys: [KeyOwner: DataKey]) {
        guard try await Self.channelRecord(channel, in: app, on: database) != nil else { throw HeraldError.notFound(resource: "channel") }
        if let member, try await database.rows("SELECT 1 FROM channelMember WHERE channelID = \(channel) AND userID = \(member)").isEmpty {
            throw Access.notMember
        }
        // One statement text per order (prepared once per connection by PostgreSQL's plan cache).
        let bounds = query.bounds
        let (records, hasMore) = query.page(
            try await database.rows(
                """
                SELECT \(unescaped: MessageRecord.postgresColumns) FROM message WHERE channelID = \(channel) AND seq > \(bounds.after)
                AND seq < \(bounds.before) ORDER BY seq \(unescaped: bounds.order) LIMIT \(Int64(bounds.fetch))
                """
            ).map(MessageRecord.init(postgres:)))
        var keysByOwner: [KeyOwner: DataKey] = [:]
        for owner in Set(records.map(\.owner)) { keysByOwner[owner] = try await keys.key(owner, in: app) }
        return (records, hasMore, keysByOwner)
    }

    func opened(_ record: MessageRecord, app: AppID) async throws -> Message {
        try record.message(key: record.deletedAt == nil ? try await keys.key(record.owner, in: app) : nil)
    }
}
