public import Foundation

/// A stored message, as it appears on the wire (HTTP bodies and `message.*` frames).
///
/// `seq` is gap-free per channel: clients resume from the last seq they saw after a reconnect.
/// A deleted message stays as a tombstone (`deleted: true`, empty text, no data) so the sequence
/// keeps no holes.
public struct Message: Codable, Equatable, Sendable {
    public var id: MessageID
    public var channelId: ChannelID
    public var seq: Int64
    /// The user who sent it; absent when the business sent it as itself.
    public var sender: UserID?
    public var text: String
    public var data: [String: JSONValue]?
    public var createdAt: Date
    public var editedAt: Date?
    public var deleted: Bool
    /// True when the sender was erased (their data key destroyed): the message keeps its seq and shows
    /// nothing. Absent otherwise.
    public var erased: Bool?
    /// The verified-sender signature of a message the business sent as itself (see `signedPayload`).
    public var jws: String?
    /// `business` when the last edit of a customer's message was the business's (moderation through the
    /// Platform API), so an app never shows words the business put there as the customer's. Absent otherwise.
    public var editedBy: Editor?

    public enum Editor: String, Codable, Sendable {
        case business
    }

    public init(
        id: MessageID, channelId: ChannelID, seq: Int64, sender: UserID?, text: String, data: [String: JSONValue]?,
        createdAt: Date, editedAt: Date? = nil, deleted: Bool = false, jws: String? = nil
    ) {
        self.id = id
        self.channelId = channelId
        self.seq = seq
        self.sender = sender
        self.text = text
        self.data = data
        self.createdAt = createdAt
        self.editedAt = editedAt
        self.deleted = deleted
        self.jws = jws
    }

    /// The JSON that the `jws` of a business message covers: what the customer sees, with the app and
    /// the channel, so a signed message cannot be replayed into another conversation.
    public func signedPayload(app: AppID) -> Data {
        var object: [String: JSONValue] = [
            "kind": .string("message"), "appId": .string(app.rawValue), "id": .string(id.rawValue), "channelId": .string(channelId.rawValue),
            "text": .string(text), "createdAt": .string(WireTime.format(createdAt)),
        ]
        if let data { object["data"] = .object(data) }
        if let editedAt { object["editedAt"] = .string(WireTime.format(editedAt)) }
        return JSONValue.object(object).canonicalData()
    }
}
