import Foundation
import GRDB
import HeraldCore

struct ChannelRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "channel"
    var id: String
    var appID: String
    var type: String
    var name: String?
    var directKey: String?
    var lastSeq: Int64
    var lastActivityAt: Int64
    var createdAt: Int64

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let appID = Column(CodingKeys.appID)
        static let directKey = Column(CodingKeys.directKey)
        static let lastSeq = Column(CodingKeys.lastSeq)
        static let lastActivityAt = Column(CodingKeys.lastActivityAt)
    }

    func channel(members: [UserID]) -> Channel {
        Channel(
            id: ChannelID(rawValue: id)!, type: Channel.Kind(rawValue: type) ?? .group, name: name, members: members,
            lastSeq: lastSeq, createdAt: WireTime.date(milliseconds: createdAt))
    }
}

struct MemberRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "channelMember"
    var channelID: String
    var appID: String
    var userID: String
    var lastReadSeq: Int64
    var joinedAt: Int64

    enum Columns {
        static let channelID = Column(CodingKeys.channelID)
        static let appID = Column(CodingKeys.appID)
        static let userID = Column(CodingKeys.userID)
        static let lastReadSeq = Column(CodingKeys.lastReadSeq)
    }
}
