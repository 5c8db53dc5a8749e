import Foundation
import GRDB
import HeraldCore

struct MessageRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "message"
    var id: String
    var channelID: String
    var seq: Int64
    var sender: String?
    var text: String
    var data: String?
    var createdAt: Int64
    var editedAt: Int64?
    var deletedAt: Int64?
    var jws: String?

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let channelID = Column(CodingKeys.channelID)
        static let seq = Column(CodingKeys.seq)
        static let sender = Column(CodingKeys.sender)
        static let deletedAt = Column(CodingKeys.deletedAt)
    }

    init(_ message: Message) {
        id = message.id.rawValue
        channelID = message.channelId.rawValue
        seq = message.seq
        sender = message.sender?.rawValue
        text = message.text
        data = message.data.map(JSONColumn.encode)
        createdAt = WireTime.milliseconds(message.createdAt)
        editedAt = message.editedAt.map(WireTime.milliseconds)
        deletedAt = nil
        jws = message.jws
    }

    var message: Message {
        Message(
            id: MessageID(rawValue: id)!, channelId: ChannelID(rawValue: channelID)!, seq: seq, sender: sender.flatMap(UserID.init(rawValue:)),
            text: text, data: data.flatMap(JSONColumn.decodeObject), createdAt: WireTime.date(milliseconds: createdAt),
            editedAt: editedAt.map(WireTime.date(milliseconds:)), deleted: deletedAt != nil, jws: jws)
    }
}

struct IdempotencyRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "idempotencyKey"
    var appID: String
    var scope: String
    var key: String
    var fingerprint: Data
    /// The id of what the first request created (a message, a notification).
    var resultID: String
    var createdAt: Int64

    enum Columns {
        static let createdAt = Column(CodingKeys.createdAt)
    }
}

/// JSON objects stored in text columns.
enum JSONColumn {
    static func encode(_ object: [String: JSONValue]) -> String {
        String(decoding: JSONValue.object(object).canonicalData(), as: UTF8.self)
    }

    static func decodeObject(_ text: String) -> [String: JSONValue]? {
        guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { return nil }
        return object
    }
}
