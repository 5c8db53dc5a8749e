import Foundation
import HeraldCore

/// The rules of appending a message, once for both backends' batch writers (each runs them under its
/// own locking: SQLite's single writer, PostgreSQL's locked channel rows).
enum AppendRules {
    /// Every check a send passes before anything of it is kept, in this order: the channel is the app's,
    /// the sender is a member, the sender's key is there (not erased: refused before the seq moves on,
    /// which would leave a gap the SDK waits on for ever), the app's key is there when the send is keyed,
    /// and the channel has a seq left after the `taken` ones earlier sends of this batch will use.
    /// (PostgreSQL's writer runs it before it claims the idempotency key; SQLite's claims the key where
    /// a replay is looked up and gives the claim back when this refuses the send.)
    /// - Returns: the key the message is sealed with (the sender's, or the app's for a business message).
    static func check(
        _ request: AppendRequest, channel: ChannelRecord?, members: [UserID], senderKey: DataKey?, appKey: DataKey?, taken: Int64 = 0
    ) throws(HeraldError) -> DataKey {
        try checkAccess(request, channel: channel, members: members)
        guard let channel else { throw .notFound(resource: "channel") }
        guard let senderKey else { throw .forbidden(reason: "The sender has been erased.") }
        if request.idempotency != nil, appKey == nil { throw .notFound(resource: "app") }
        guard channel.lastSeq < Limits.maxSeq - taken else { throw SeqLimit.reached }
        return senderKey
    }

    /// Whether the send may touch the channel at all: the channel is the app's and the sender a member.
    /// Checked before an idempotency key is replayed too, so a key replays only for whoever may still
    /// send there: a member removed since gets `forbidden`, a deleted channel `not_found`, another
    /// tenant's channel id `not_found`, never the stored message.
    static func checkAccess(_ request: AppendRequest, channel: ChannelRecord?, members: [UserID]) throws(HeraldError) {
        guard let channel, channel.appID == request.app else { throw .notFound(resource: "channel") }
        if let sender = request.sender, !members.contains(sender) { throw Access.notMember }
    }

    /// The key whose data key seals the message.
    static func owner(of request: AppendRequest) -> KeyOwner { request.sender.map(KeyOwner.user) ?? .app }

    /// The message a send creates, signed when the request carries a signer.
    static func message(for request: AppendRequest, id: MessageID, seq: Int64, at time: Date) -> Message {
        var message = Message(
            id: id, channelId: request.channel, seq: seq, sender: request.sender, text: request.content.text, data: request.content.data, createdAt: time)
        message.jws = request.signer?(message)
        return message
    }

    /// The payload of the push row for the members who are offline (ids only), or nil when no member
    /// but the sender has a device to push to (`withDevices`: the members who have one when the message
    /// is committed). Most chats have no member to wake by push, and a row written for them was written,
    /// settled and deleted again for nothing, on the single writer; a device registered after the
    /// commit is pushed the next message.
    static func pushPayload(for request: AppendRequest, withDevices: Set<UserID>) -> String? {
        guard withDevices.contains(where: { $0 != request.sender }) else { return nil }
        var payload: [String: JSONValue] = ["channelId": .string(request.channel.rawValue)]
        if let sender = request.sender { payload["sender"] = .string(sender.rawValue) }
        return String(decoding: CanonicalJSON.data(.object(payload)), as: UTF8.self)
    }

    /// A key whose first message is gone (deleted outside Herald, or being erased): the key stays
    /// taken, and the send is refused rather than stored a second time.
    static let keyInUse = HeraldError.conflict(detail: "This Idempotency-Key is in use.")
}
