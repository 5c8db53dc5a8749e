import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func export(_ id: UserID, in app: AppID) async throws -> UserExport? {
        guard let user = try await user(id, in: app) else { return nil }
        let appKey = try appKey(app)
        let (channels, messages, inbox, consents) = try await pool.read { db in
            let memberships = try Row.fetchAll(
                db,
                sql: """
                    SELECT channel.*, channelMember.lastReadSeq AS memberLastReadSeq FROM channelMember
                    JOIN channel ON channel.id = channelMember.channelID
                    WHERE channel.appID = ? AND channelMember.userID = ? ORDER BY channel.createdAt
                    """, arguments: [app.rawValue, id.rawValue]
            ).map { row in
                UserExport.Membership(channel: try Self.channel(ChannelRecord(row: row), appKey: appKey, db: db), lastReadSeq: try row.decode(forColumn: "memberLastReadSeq"))
            }
            let messages = try MessageRecord.fetchAll(
                db,
                sql: """
                    SELECT message.* FROM message JOIN channel ON channel.id = message.channelID
                    WHERE channel.appID = ? AND message.sender = ? ORDER BY message.createdAt, message.seq
                    """, arguments: [app.rawValue, id.rawValue]
            ).map { try $0.message(app: app, keys: keys) }
            let inboxRecords = try InboxItemRecord.filter(InboxItemRecord.Columns.appID == app.rawValue && InboxItemRecord.Columns.userID == id.rawValue)
                .order(InboxItemRecord.Columns.createdAt).fetchAll(db)
            let shared = try sharedContents(of: inboxRecords, db: db)
            let inbox = try inboxRecords.map { try $0.item(keys: keys, shared: shared) }
            let consents = try Row.fetchAll(
                db, sql: "SELECT consent, granted, at FROM consentChange WHERE appID = ? AND userID = ? ORDER BY at", arguments: [app.rawValue, id.rawValue]
            ).map { UserExport.ConsentChange(consent: try $0.decode(forColumn: "consent"), granted: try $0.decode(forColumn: "granted"), at: WireTime.date(milliseconds: try $0.decode(forColumn: "at"))) }
            return (memberships, messages, inbox, consents)
        }
        return UserExport(
            exportedAt: now(), appId: app, user: user, channels: channels, messages: messages, inbox: inbox, devices: try await devices(of: id, in: app),
            consentChanges: consents, pushDeliveries: try await pushDeliveries(of: id, in: app, limit: 100_000, before: nil).map(\.delivery), journeyActivity: try await journeyActivity(of: id, in: app))
    }
}
