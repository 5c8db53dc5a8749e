import Foundation

/// A frame a client sends over `/v1/realtime`. Parsed strictly: unknown types and fields are errors
/// the server answers with an `error` frame, never by closing a healthy connection.
public enum ClientFrame: Equatable, Sendable {
    case auth(token: String)
    case send(channelID: ChannelID, clientMessageID: ClientMessageID, content: MessageContent)
    case sync(channelID: ChannelID, afterSeq: Int64)
    case read(channelID: ChannelID, seq: Int64)
    case typing(channelID: ChannelID)

    /// - Throws: `HeraldError.malformed` or `.invalid`, with `clientMessageID` when one could be read
    ///   (so the error frame can answer the send it belongs to).
    public init(text: String) throws(ClientFrameError) {
        var clientMessageID: ClientMessageID?
        do {
            self = try Self.parse(JSONValue.parse(text: text), clientMessageID: &clientMessageID)
        } catch {
            throw ClientFrameError(error: error, clientMessageID: clientMessageID)
        }
    }

    /// The frame as the JSON text a client sends (the SDK's writer; `init(text:)` reads it back).
    public var text: String {
        var fields: [String: JSONValue]
        switch self {
        case .auth(let token):
            fields = ["type": .string("auth"), "token": .string(token)]
        case .send(let channel, let clientMessageID, let content):
            fields = ["type": .string("message.send"), "channelId": .string(channel.rawValue), "clientMessageId": .string(clientMessageID.rawValue)]
            fields["text"] = .string(content.text)
            if let data = content.data { fields["data"] = .object(data) }
        case .sync(let channel, let afterSeq):
            fields = ["type": .string("sync"), "channelId": .string(channel.rawValue), "afterSeq": .number(Double(afterSeq))]
        case .read(let channel, let seq):
            fields = ["type": .string("read"), "channelId": .string(channel.rawValue), "seq": .number(Double(seq))]
        case .typing(let channel):
            fields = ["type": .string("typing"), "channelId": .string(channel.rawValue)]
        }
        return String(decoding: JSONValue.object(fields).canonicalData(), as: UTF8.self)
    }

    private static func parse(_ value: JSONValue, clientMessageID: inout ClientMessageID?) throws(HeraldError) -> ClientFrame {
        var reader = try ObjectReader(value)
        switch reader.string("type", required: true) {
        case "auth":
            let token = reader.string("token", required: true, maxLength: 4096)
            try reader.finish()
            return .auth(token: token!)
        case "message.send":
            let channel = channelID(&reader)
            let rawID = reader.string("clientMessageId", required: true)
            clientMessageID = rawID.flatMap(ClientMessageID.init(rawValue:))
            if rawID != nil, clientMessageID == nil { reader.report("clientMessageId", .invalidIdentifier) }
            let content = MessageContent(reading: &reader)
            try reader.finish()
            return .send(channelID: channel!, clientMessageID: clientMessageID!, content: content!)
        case "sync":
            let channel = channelID(&reader)
            let after = reader.integer("afterSeq", required: true, range: 0...Limits.maxSeq)
            try reader.finish()
            return .sync(channelID: channel!, afterSeq: after!)
        case "read":
            let channel = channelID(&reader)
            let seq = reader.integer("seq", required: true, range: 0...Limits.maxSeq)
            try reader.finish()
            return .read(channelID: channel!, seq: seq!)
        case "typing":
            let channel = channelID(&reader)
            try reader.finish()
            return .typing(channelID: channel!)
        case .some:
            reader.report("type", .invalidValue, detail: "one of auth, message.send, sync, read, typing")
            throw .invalid(reader.problems)
        case nil:
            throw .invalid(reader.problems)
        }
    }

    private static func channelID(_ reader: inout ObjectReader) -> ChannelID? {
        guard let raw = reader.string("channelId", required: true) else { return nil }
        guard let id = ChannelID(rawValue: raw) else {
            reader.report("channelId", .invalidIdentifier)
            return nil
        }
        return id
    }
}

/// Why a client frame was refused, with the send it answers where known.
public struct ClientFrameError: Error, Equatable, Sendable {
    public var error: HeraldError
    public var clientMessageID: ClientMessageID?
}
