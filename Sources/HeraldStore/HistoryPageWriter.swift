import Foundation
import HeraldCore

/// A page of history (`GET /v1/channels/{id}/messages`) written from stored rows straight into the
/// wire's JSON: the one place both backends turn message rows into page bytes (issue 20, "history as
/// bytes").
///
/// A message's sealed content is already JSON, written by `MessageRecord.Content.json` as the wire's
/// `text`, `data`, `jws` and `editedBy` members: once opened, it is spliced into the message object
/// as it is, with no parse and no second encoding. What AES-GCM opened under the message's own context
/// was sealed by Herald, so it is Herald's JSON. Content that does not start as `Content.json` writes
/// it (`{"text":"`, from versions before it) is read and written again field by field, as
/// `MessageRecord.message(key:)` reads it, and content that does not read is `StoreCorruption`.
///
/// The result is the same JSON value as `FrameWriter.write(_: MessagePage)` of the page the store's
/// `history` returns (members in another order); `HistoryPageTests` compares the two on every kind of
/// message, on both backends.
struct HistoryPageWriter {
    private var writer: FrameWriter
    private let channel: ChannelID
    /// Rows come newest first (a page before a seq): each message's end in `writer`, so `finish` can put
    /// them in seq order. Nil when they come in seq order and are written in place.
    private var ends: [Int]?
    /// Messages written so far.
    private(set) var count = 0

    /// - Parameter newestFirst: rows are appended in descending seq order (`HistoryQuery.isBackward`).
    init(channel: ChannelID, expected: Int, newestFirst: Bool) {
        self.channel = channel
        writer = FrameWriter(capacity: 32 + 360 * expected)
        if newestFirst {
            ends = []
        } else {
            writer.raw(#"{"messages":["#)
        }
    }

    /// Appends `record`, opened with `key` (its owner's data key; nil when erased).
    mutating func append(_ record: MessageRecord, key: DataKey?) throws {
        var content: Data?
        if record.deletedAt == nil, let sealed = record.sealed, let key {
            do {
                content = try key.open(sealed, context: record.context)
            } catch {
                throw StoreCorruption(table: MessageRecord.databaseTableName, id: record.id.rawValue)
            }
        }
        try append(
            id: record.id, seq: record.seq, sender: record.sender, createdAt: record.createdAt, editedAt: record.editedAt,
            deleted: record.deletedAt != nil, content: content)
    }

    /// One stored message, its content opened (nil when deleted, or when its owner's key is gone:
    /// erased). Times are the store's milliseconds.
    mutating func append(
        id: MessageID, seq: Int64, sender: UserID?, createdAt: Int64, editedAt: Int64?, deleted: Bool, content: Data?
    ) throws {
        defer {
            count += 1
            ends?.append(writer.bytes.count)
        }
        if count > 0 && ends == nil { writer.raw(",") }
        writer.raw(#"{"id":"#)
        writer.string(id.rawValue)
        writer.raw(#","channelId":"#)
        writer.string(channel.rawValue)
        writer.raw(#","seq":"#)
        writer.integer(seq)
        if let sender {
            writer.raw(#","sender":"#)
            writer.string(sender.rawValue)
        }
        writer.raw(#","createdAt":"#)
        writer.date(milliseconds: createdAt)
        if let editedAt {
            writer.raw(#","editedAt":"#)
            writer.date(milliseconds: editedAt)
        }
        if deleted {
            writer.raw(#","deleted":true,"text":""}"#)
            return
        }
        writer.raw(#","deleted":false"#)
        guard let content else {
            writer.raw(#","erased":true,"text":""}"#)
            return
        }
        if Self.isContentJSON(content) {
            // `{"text":…}` becomes `,"text":…}`: the members, and the message object's end.
            writer.raw(",")
            content.withUnsafeBytes { writer.raw(json: UnsafeRawBufferPointer(rebasing: $0.dropFirst())) }
            return
        }
        let opened: MessageRecord.Content
        do {
            opened = try MessageRecord.Content(json: content)
        } catch {
            throw StoreCorruption(table: MessageRecord.databaseTableName, id: id.rawValue)
        }
        writer.raw(#","text":"#)
        writer.string(opened.text)
        if let data = opened.data {
            writer.raw(#","data":"#)
            writer.value(.object(data))
        }
        if let jws = opened.jws {
            writer.raw(#","jws":"#)
            writer.string(jws)
        }
        if let editedBy = opened.editedBy {
            writer.raw(#","editedBy":"#)
            writer.string(editedBy.rawValue)
        }
        writer.raw("}")
    }

    /// The page's bytes.
    consuming func finish(hasMore: Bool) -> [UInt8] {
        let end: StaticString = hasMore ? #"],"hasMore":true}"# : #"],"hasMore":false}"#
        guard let ends else {
            writer.raw(end)
            return writer.bytes
        }
        var ordered = FrameWriter(capacity: writer.bytes.count + count + 32)
        ordered.raw(#"{"messages":["#)
        writer.bytes.withUnsafeBufferPointer { written in
            for index in ends.indices.reversed() {
                if index < ends.count - 1 { ordered.raw(",") }
                ordered.raw(json: written[(index == 0 ? 0 : ends[index - 1])..<ends[index]])
            }
        }
        ordered.raw(end)
        return ordered.bytes
    }

    private static let contentStart = Array(#"{"text":""#.utf8)

    /// Whether `content` is an object as `Content.json` writes it: it starts with the `text` member
    /// and ends with the object.
    static func isContentJSON(_ content: Data) -> Bool {
        content.count > contentStart.count && content.starts(with: contentStart) && content.last == UInt8(ascii: "}")
    }
}
