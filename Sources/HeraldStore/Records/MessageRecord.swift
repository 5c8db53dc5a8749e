import Foundation
import GRDB
import HeraldCore

struct MessageRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "message"
    var id: MessageID
    var channelID: ChannelID
    var seq: Int64
    var sender: UserID?
    /// `Content`, sealed with the sender's data key (the app's for a business message); nil once deleted.
    var sealed: Data?
    var createdAt: Int64
    var editedAt: Int64?
    var deletedAt: Int64?

    /// What is sealed: everything the customer wrote or reads, and the signature (its payload is that content).
    struct Content: Codable {
        var text: String
        var data: [String: JSONValue]?
        var jws: String?
        /// Who made the last edit, when it was not the sender (the business moderating a customer's message).
        var editedBy: Message.Editor?

        /// The content from the JSON that was sealed, read by Herald's parser (`JSONDecoder` was a ninth
        /// of a history page's CPU, issue 20), and by `JSONDecoder` whenever that parser does not read
        /// it: content stored before requests went through the parser may nest deeper than it allows
        /// (64), and must open as it always did. So it reads what `JSONDecoder` reads and refuses what
        /// it refuses (`SealedContentTests` compares the two).
        init(json: Data) throws {
            do {
                self = try Self.parsed(json)
            } catch {
                self = try JSONDecoder().decode(Content.self, from: json)
            }
        }

        private static func parsed(_ json: Data) throws -> Content {
            guard case .object(let fields) = try JSONValue.parse(json), case .string(let text)? = fields["text"] else { throw Unreadable() }
            let data: [String: JSONValue]?
            let jws: String?
            let editedBy: Message.Editor?
            switch fields["data"] {
            case nil, .null?: data = nil
            case .object(let value)?: data = value
            default: throw Unreadable()
            }
            switch fields["jws"] {
            case nil, .null?: jws = nil
            case .string(let value)?: jws = value
            default: throw Unreadable()
            }
            switch fields["editedBy"] {
            case nil, .null?: editedBy = nil
            case .string(let value)?:
                guard let editor = Message.Editor(rawValue: value) else { throw Unreadable() }
                editedBy = editor
            default: throw Unreadable()
            }
            return Content(text: text, data: data, jws: jws, editedBy: editedBy)
        }

        struct Unreadable: Error {}

        init(text: String, data: [String: JSONValue]?, jws: String?, editedBy: Message.Editor?) {
            self.text = text
            self.data = data
            self.jws = jws
            self.editedBy = editedBy
        }

        /// The JSON that is sealed, written by `FrameWriter` (what `init(json:)` and `JSONDecoder` read
        /// back as `Content`; `SealedContentTests` checks both ways).
        var json: [UInt8] {
            var writer = FrameWriter(capacity: text.utf8.count + 32)
            writer.raw(#"{"text":"#)
            writer.string(text)
            if let data {
                writer.raw(#","data":"#)
                writer.value(.object(data))
            }
            if let jws {
                writer.raw(#","jws":"#)
                writer.string(jws)
            }
            if let editedBy {
                writer.raw(#","editedBy":"#)
                writer.string(editedBy.rawValue)
            }
            writer.raw("}")
            return writer.bytes
        }
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let channelID = Column(CodingKeys.channelID)
        static let seq = Column(CodingKeys.seq)
        static let sender = Column(CodingKeys.sender)
        static let deletedAt = Column(CodingKeys.deletedAt)
    }

    var owner: KeyOwner { sender.map(KeyOwner.user) ?? .app }
    var context: String { SealingContext.message(channel: channelID, id: id) }

    mutating func seal(_ message: Message, key: DataKey?) throws {
        guard let key else { throw HeraldError.forbidden(reason: "The sender has been erased.") }
        sealed = try key.seal(Data(Content(text: message.text, data: message.data, jws: message.jws, editedBy: message.editedBy).json), context: context)
    }

    /// Inserts the record through a statement prepared once per connection: every message written
    /// passes here, and GRDB's `Encodable` persistence (a container per record) was a tenth of the
    /// writer's time.
    func insert(with db: Database) throws {
        try db.cachedStatement(
            sql: "INSERT INTO message (id, channelID, seq, sender, sealed, createdAt, editedAt, deletedAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        ).execute(arguments: [id, channelID, seq, sender, sealed, createdAt, editedAt, deletedAt])
    }

    /// Edits (with `content`) or deletes the message this record holds, as both backends' writers do:
    /// a deleted message cannot be edited (deleting it again changes nothing), nor can one whose sender
    /// was erased; an edit keeps the seq and is signed again by `signer` (or loses its signature).
    /// - Parameter key: the data key of the record's owner.
    /// - Returns: the message as it is now, and whether the record changed (and must be written).
    mutating func change(
        to content: MessageContent?, signer: MessageSigner?, byBusiness: Bool = false, deleting: Bool, at time: Date, key: DataKey?
    ) throws -> (Message, changed: Bool) {
        if deletedAt != nil {
            if deleting { return (try message(key: nil), false) }
            throw HeraldError.conflict(detail: "A deleted message cannot be edited.")
        }
        var message = try message(key: key)
        if message.erased == true { throw HeraldError.conflict(detail: "The sender of this message has been erased.") }
        if deleting {
            sealed = nil
            deletedAt = WireTime.milliseconds(time)
            return (try self.message(key: nil), true)
        }
        guard let content else { return (message, false) }
        editedAt = WireTime.milliseconds(time)
        message.text = content.text
        message.data = content.data
        message.editedAt = WireTime.date(milliseconds: editedAt!)
        // A customer's words changed by the business say so; the sender's own edit clears that.
        message.editedBy = byBusiness && sender != nil ? .business : nil
        message.jws = nil
        message.jws = signer?(message)
        try seal(message, key: key)
        return (message, true)
    }

    /// The message, opened with `keys`' data key of its owner.
    func message(app: AppID, keys: KeyRing) throws -> Message {
        try message(key: deletedAt == nil ? try keys.key(owner, in: app) : nil)
    }

    /// The message, opened with `key`, the data key of its `owner`. A message whose sender's key is gone
    /// (erased) comes back as `erased`: it keeps its seq, like a tombstone, and shows nothing of what it said.
    /// - Throws: `StoreCorruption` when the key is there but does not open the content (another row's
    ///   ciphertext copied here, or altered): that is never shown as an erasure.
    func message(key: DataKey?) throws -> Message {
        var message = Message(
            id: id, channelId: channelID, seq: seq, sender: sender,
            text: "", data: nil, createdAt: WireTime.date(milliseconds: createdAt), editedAt: editedAt.map(WireTime.date(milliseconds:)),
            deleted: deletedAt != nil)
        guard deletedAt == nil else { return message }
        guard let sealed, let key else {
            message.erased = true
            return message
        }
        let content: Content
        do {
            content = try Content(json: key.open(sealed, context: context))
        } catch {
            throw StoreCorruption(table: Self.databaseTableName, id: id.rawValue)
        }
        message.text = content.text
        message.data = content.data
        message.jws = content.jws
        message.editedBy = content.editedBy
        return message
    }
}

extension MessageRecord {
    /// Read column by column, not through `Decodable` (a decoder and a container per record were an
    /// eighth of a history page's CPU, issue 20); a value that does not decode is an error, as there.
    init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        channelID = try row.decode(forColumn: "channelID")
        seq = try row.decode(forColumn: "seq")
        sender = try row.decode(forColumn: "sender")
        sealed = try row.decode(forColumn: "sealed")
        createdAt = try row.decode(forColumn: "createdAt")
        editedAt = try row.decode(forColumn: "editedAt")
        deletedAt = try row.decode(forColumn: "deletedAt")
    }

    /// A new message whose content was sealed ahead (`PreparedAppend`), or is sealed next.
    init(_ message: Message, sealed: Data?) {
        id = message.id
        channelID = message.channelId
        seq = message.seq
        sender = message.sender
        createdAt = WireTime.milliseconds(message.createdAt)
        editedAt = message.editedAt.map(WireTime.milliseconds)
        deletedAt = nil
        self.sealed = sealed
    }

    init(_ message: Message, key: DataKey?) throws {
        self.init(message, sealed: nil)
        try seal(message, key: key)
    }
}

struct IdempotencyRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "idempotencyKey"
    var appID: AppID
    var scope: String
    var key: String
    /// `IdempotencyKey.fingerprint(appKey:)`: a keyed hash, never the request.
    var fingerprint: Data
    /// The id of what the first request created (a message, a notification).
    var resultID: String
    var createdAt: Int64
    /// The customer the request spoke for; erasure deletes their rows.
    var userID: UserID?

    enum Columns {
        static let createdAt = Column(CodingKeys.createdAt)
    }
}

extension IdempotencyRecord {
    init(_ key: IdempotencyKey, app: AppID, appKey: DataKey, resultID: String, createdAt: Int64) {
        self.init(key, fingerprint: key.fingerprint(appKey: appKey), app: app, resultID: resultID, createdAt: createdAt)
    }

    /// `fingerprint`: `key.fingerprint(appKey:)`, computed ahead.
    init(_ key: IdempotencyKey, fingerprint: Data, app: AppID, resultID: String, createdAt: Int64) {
        self.init(appID: app, scope: key.scope, key: key.key.rawValue, fingerprint: fingerprint, resultID: resultID, createdAt: createdAt, userID: key.user)
    }

    /// Inserts unless the key is already stored, through a statement prepared once per connection
    /// (every keyed send writes one); whether it inserted. One search of the key's index where a
    /// lookup and then an insert made two (issue 19).
    func claim(with db: Database) throws -> Bool {
        try db.cachedStatement(
            sql: """
                INSERT INTO idempotencyKey (appID, scope, key, fingerprint, resultID, createdAt, userID) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (appID, scope, key) DO NOTHING
                """
        ).execute(arguments: [appID, scope, key, fingerprint, resultID, createdAt, userID])
        return db.changesCount == 1
    }

    /// Takes back a claim whose write was then refused.
    func release(with db: Database) throws {
        try db.cachedStatement(sql: "DELETE FROM idempotencyKey WHERE appID = ? AND scope = ? AND key = ? AND resultID = ?")
            .execute(arguments: [appID, scope, key, resultID])
    }
}

/// JSON objects stored in text columns.
enum JSONColumn {
    static func encode(_ object: [String: JSONValue]) -> String {
        String(decoding: JSONValue.object(object).canonicalData(), as: UTF8.self)
    }

    static func decodeObject(_ text: String) -> [String: JSONValue]? {
        guard case .object(let object)? = try? JSONValue.parse(text: text) else { return nil }
        return object
    }
}
