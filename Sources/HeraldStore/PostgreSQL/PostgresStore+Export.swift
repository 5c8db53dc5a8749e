import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {
    public func export(_ id: UserID, in app: AppID) async throws -> UserExport? {
        guard let user = try await user(id, in: app) else { return nil }
        let key = try await keys.key(.user(id), in: app)
        var channels: [UserExport.Membership] = []
        for row in try await database.rows(
            """
            SELECT \(unescaped: ChannelRecord.postgresColumns.split(separator: ",").map { "c." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")),
                m.lastReadSeq
            FROM channelMember m JOIN channel c ON c.id = m.channelID
            WHERE c.appID = \(app) AND m.userID = \(id) ORDER BY c.createdAt, c.id
            """)
        {
            let columns = try row.decode((ChannelID, AppID, HeraldCore.Channel.Kind, String?, String?, Int64, Int64, Int64, Data?, Int64).self)
            let record = ChannelRecord(
                id: columns.0, appID: columns.1, type: columns.2, name: columns.3, directKey: columns.4, lastSeq: columns.5, lastActivityAt: columns.6,
                createdAt: columns.7, sealedName: columns.8)
            channels.append(UserExport.Membership(channel: try await Self.channel(record, appKey: try await appKey(app), on: database), lastReadSeq: columns.9))
        }
        let messages = try await database.rows(
            """
            SELECT \(unescaped: MessageRecord.postgresColumns.split(separator: ",").map { "m." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", "))
            FROM message m JOIN channel c ON c.id = m.channelID
            WHERE c.appID = \(app) AND m.sender = \(id) ORDER BY m.createdAt, m.seq
            """
        ).map { row in
            let record = try MessageRecord(postgres: row)
            return try record.message(key: record.deletedAt == nil ? key : nil)
        }
        let inboxRecords = try await database.rows(
            "SELECT \(unescaped: InboxItemRecord.postgresColumns) FROM inboxItem WHERE appID = \(app) AND userID = \(id) ORDER BY createdAt, position"
        ).map(InboxItemRecord.init(postgres:))
        let shared = try await sharedContents(of: inboxRecords, on: database)
        var inbox: [InboxItem] = []
        for record in inboxRecords { inbox.append(try await openedItem(record, shared: shared)) }
        let consents = try await database.rows(
            "SELECT consent, granted, at FROM consentChange WHERE appID = \(app) AND userID = \(id) ORDER BY at"
        ).map { row in
            let (consent, granted, at) = try row.decode((String, Bool, Int64).self)
            return UserExport.ConsentChange(consent: consent, granted: granted, at: WireTime.date(milliseconds: at))
        }
        return UserExport(
            exportedAt: now(), appId: app, user: user, channels: channels, messages: messages, inbox: inbox, devices: try await devices(of: id, in: app),
            consentChanges: consents, pushDeliveries: try await pushDeliveries(of: id, in: app, limit: 100_000, before: nil).map(\.delivery), journeyActivity: try await journeyActivity(of: id, in: app))
    }
}
