import Foundation

/// A frame the server sends over `/v1/realtime`. Encodable for the server, decodable for clients
/// (the SDK and tests read the same type).
public enum ServerFrame: Equatable, Sendable {
    case ready(userID: UserID)
    case ack(clientMessageID: ClientMessageID, message: Message)
    case messageCreated(Message)
    case messageUpdated(Message)
    case messageDeleted(Message)
    case syncDone(channelID: ChannelID, lastSeq: Int64)
    case read(ReadPosition)
    case typing(channelID: ChannelID, userID: UserID)
    case inboxCreated(InboxItem)
    case error(code: String, detail: String, clientMessageID: ClientMessageID?)

    public var type: String {
        switch self {
        case .ready: "ready"
        case .ack: "ack"
        case .messageCreated: "message.created"
        case .messageUpdated: "message.updated"
        case .messageDeleted: "message.deleted"
        case .syncDone: "sync.done"
        case .read: "read"
        case .typing: "typing"
        case .inboxCreated: "inbox.created"
        case .error: "error"
        }
    }

    public var message: Message? {
        switch self {
        case .ack(_, let message), .messageCreated(let message), .messageUpdated(let message), .messageDeleted(let message): message
        default: nil
        }
    }
}

extension ServerFrame: Codable {
    enum CodingKeys: String, CodingKey {
        case type, userId, clientMessageId, message, channelId, lastSeq, seq, code, detail, item
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        switch self {
        case .ready(let user):
            try container.encode(user, forKey: .userId)
        case .ack(let clientMessageID, let message):
            try container.encode(clientMessageID, forKey: .clientMessageId)
            try container.encode(message, forKey: .message)
        case .messageCreated(let message), .messageUpdated(let message), .messageDeleted(let message):
            try container.encode(message, forKey: .message)
        case .syncDone(let channel, let lastSeq):
            try container.encode(channel, forKey: .channelId)
            try container.encode(lastSeq, forKey: .lastSeq)
        case .read(let position):
            try container.encode(position.channelId, forKey: .channelId)
            try container.encode(position.userId, forKey: .userId)
            try container.encode(position.seq, forKey: .seq)
        case .typing(let channel, let user):
            try container.encode(channel, forKey: .channelId)
            try container.encode(user, forKey: .userId)
        case .inboxCreated(let item):
            try container.encode(item, forKey: .item)
        case .error(let code, let detail, let clientMessageID):
            try container.encode(code, forKey: .code)
            try container.encode(detail, forKey: .detail)
            try container.encodeIfPresent(clientMessageID, forKey: .clientMessageId)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "ready": self = .ready(userID: try container.decode(UserID.self, forKey: .userId))
        case "ack":
            self = .ack(
                clientMessageID: try container.decode(ClientMessageID.self, forKey: .clientMessageId),
                message: try container.decode(Message.self, forKey: .message))
        case "message.created": self = .messageCreated(try container.decode(Message.self, forKey: .message))
        case "message.updated": self = .messageUpdated(try container.decode(Message.self, forKey: .message))
        case "message.deleted": self = .messageDeleted(try container.decode(Message.self, forKey: .message))
        case "sync.done":
            self = .syncDone(
                channelID: try container.decode(ChannelID.self, forKey: .channelId), lastSeq: try container.decode(Int64.self, forKey: .lastSeq))
        case "read":
            self = .read(
                ReadPosition(
                    channelId: try container.decode(ChannelID.self, forKey: .channelId),
                    userId: try container.decode(UserID.self, forKey: .userId),
                    seq: try container.decode(Int64.self, forKey: .seq)))
        case "typing":
            self = .typing(channelID: try container.decode(ChannelID.self, forKey: .channelId), userID: try container.decode(UserID.self, forKey: .userId))
        case "inbox.created": self = .inboxCreated(try container.decode(InboxItem.self, forKey: .item))
        case "error":
            self = .error(
                code: try container.decode(String.self, forKey: .code), detail: try container.decode(String.self, forKey: .detail),
                clientMessageID: try container.decodeIfPresent(ClientMessageID.self, forKey: .clientMessageId))
        default:
            throw DecodingError.dataCorruptedError(forKey: .type, in: container, debugDescription: "unknown frame type \(type)")
        }
    }
}
