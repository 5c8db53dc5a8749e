import Foundation
import GRDB
import HeraldCore

struct ChannelRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "channel"
    var id: ChannelID
    var appID: AppID
    var type: Channel.Kind
    /// Only in rows from before names were sealed (upgraded at the next start); nil otherwise.
    var name: String?
    var directKey: String?
    var lastSeq: Int64
    var lastActivityAt: Int64
    var createdAt: Int64
    /// The name, sealed with the app's data key: a business names a group after its subject ("Dispute of
    /// card 4242"), which is content.
    var sealedName: Data?

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let appID = Column(CodingKeys.appID)
        static let directKey = Column(CodingKeys.directKey)
        static let lastSeq = Column(CodingKeys.lastSeq)
        static let lastActivityAt = Column(CodingKeys.lastActivityAt)
    }

    /// The channel, its name opened with `appKey` (nil where the name is not needed: a membership check).
    /// - Throws: `StoreCorruption` for a name that does not open.
    func channel(members: [UserID], appKey: DataKey?) throws -> Channel {
        var clearName = name
        if let sealedName, let appKey {
            guard let opened = try? appKey.open(sealedName, context: SealingContext.channelName(id)) else { throw StoreCorruption(table: Self.databaseTableName, id: id.rawValue) }
            clearName = String(decoding: opened, as: UTF8.self)
        }
        return Channel(id: id, type: type, name: clearName, members: members, lastSeq: lastSeq, createdAt: WireTime.date(milliseconds: createdAt))
    }
}

extension ChannelRecord {
    init(_ new: NewChannel, id: ChannelID, app: AppID, appKey: DataKey, time: Int64) throws {
        self.init(
            id: id, appID: app, type: new.type, name: nil, directKey: new.directKey, lastSeq: 0, lastActivityAt: time, createdAt: time,
            sealedName: try new.name.map { try appKey.seal(Data($0.utf8), context: SealingContext.channelName(id)) })
    }
}

struct MemberRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "channelMember"
    var channelID: ChannelID
    var appID: AppID
    var userID: UserID
    var lastReadSeq: Int64
    var joinedAt: Int64

    enum Columns {
        static let channelID = Column(CodingKeys.channelID)
        static let appID = Column(CodingKeys.appID)
        static let userID = Column(CodingKeys.userID)
        static let lastReadSeq = Column(CodingKeys.lastReadSeq)
    }
}
