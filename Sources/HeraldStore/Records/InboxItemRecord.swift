import Foundation
import GRDB
import HeraldCore

struct InboxItemRecord: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "inboxItem"
    var position: Int64?
    var id: InboxItemID
    var appID: AppID
    var userID: UserID
    var notificationID: NotificationID
    var category: NotificationCategory
    /// `Content`, sealed with the recipient's data key.
    var sealed: Data?
    /// When it entered (or enters) the inbox: the order of the inbox, and the time it is signed with.
    var createdAt: Int64
    /// Set when it was published to the user; nil while held (quiet hours).
    var releasedAt: Int64?
    var expiresAt: Int64?
    var deliveredAt: Int64?
    var readAt: Int64?
    var archivedAt: Int64?
    var actionID: String?
    /// The input given with the action (JSON), sealed with the recipient's data key.
    var sealedInput: Data?
    var actedAt: Int64?
    /// Set on a reference to shared content: the locale of the notification's `notificationContent` row
    /// (`""` when it has none); `sealed` is then nil. Nil for an item sealed for its recipient alone.
    var locale: String?
    /// A reference's keyed hash (the app's data key) over what the row says: to whom, which item and
    /// notification, which content and which times. A row written or changed outside Herald (moved to
    /// another user, pointed at another broadcast) does not match, and Herald never signs it.
    var binding: Data?
    /// A reference's Ed25519 signature, made on first delivery or read and kept (the JWS is built again
    /// from the content and this row), with the `kid` of the key that made it.
    var signature: Data?
    var signedBy: String?

    /// What the customer reads, and its signature (whose payload is that content).
    struct Content: Codable {
        var title: String
        var body: String
        var data: [String: JSONValue]?
        var actions: [NotificationAction]?
        var jws: String
    }

    /// What every recipient of a shared notification reads in one locale: stored once, in
    /// `notificationContent`, sealed with the app's data key.
    struct SharedContent: Codable, Sendable {
        var title: String
        var body: String
        var data: [String: JSONValue]?
        var actions: [NotificationAction]?
    }

    enum Columns {
        static let position = Column(CodingKeys.position)
        static let id = Column(CodingKeys.id)
        static let appID = Column(CodingKeys.appID)
        static let userID = Column(CodingKeys.userID)
        static let notificationID = Column(CodingKeys.notificationID)
        static let category = Column(CodingKeys.category)
        static let createdAt = Column(CodingKeys.createdAt)
        static let releasedAt = Column(CodingKeys.releasedAt)
        static let expiresAt = Column(CodingKeys.expiresAt)
        static let readAt = Column(CodingKeys.readAt)
        static let archivedAt = Column(CodingKeys.archivedAt)
    }

    /// Read column by column, not through `Decodable` (a decoder and a container per row were a fifth
    /// of an inbox page's CPU, issue 20); a value that does not decode is an error, as there.
    init(row: Row) throws {
        position = try row.decode(forColumn: "position")
        id = try row.decode(forColumn: "id")
        appID = try row.decode(forColumn: "appID")
        userID = try row.decode(forColumn: "userID")
        notificationID = try row.decode(forColumn: "notificationID")
        category = try row.decode(forColumn: "category")
        sealed = try row.decode(forColumn: "sealed")
        createdAt = try row.decode(forColumn: "createdAt")
        releasedAt = try row.decode(forColumn: "releasedAt")
        expiresAt = try row.decode(forColumn: "expiresAt")
        deliveredAt = try row.decode(forColumn: "deliveredAt")
        readAt = try row.decode(forColumn: "readAt")
        archivedAt = try row.decode(forColumn: "archivedAt")
        actionID = try row.decode(forColumn: "actionID")
        sealedInput = try row.decode(forColumn: "sealedInput")
        actedAt = try row.decode(forColumn: "actedAt")
        locale = try row.decode(forColumn: "locale")
        binding = try row.decode(forColumn: "binding")
        signature = try row.decode(forColumn: "signature")
        signedBy = try row.decode(forColumn: "signedBy")
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        position = inserted.rowID
    }

    init(_ item: InboxItem, app: AppID, releasedAt: Int64?, key: DataKey) throws {
        id = item.id
        appID = app
        userID = item.recipient
        notificationID = item.notificationId
        category = item.category
        sealed = try key.seal(
            json: Content(title: item.title, body: item.body, data: item.data, actions: item.actions, jws: item.jws), context: SealingContext.inboxItem(item.id))
        createdAt = WireTime.milliseconds(item.createdAt)
        self.releasedAt = releasedAt
        expiresAt = item.expiresAt.map(WireTime.milliseconds)
    }

    /// A reference to shared content (`locale` the key of its `notificationContent` row): the item's
    /// own fields, its binding, no content. Its signature comes later (`InboxSignature`).
    /// - Parameter tagger: the app key's tagger of `bindingPurpose`, made once for many rows.
    init(reference item: InboxItem, locale: String, app: AppID, releasedAt: Int64?, tagger: DataKey.Tagger) {
        id = item.id
        appID = app
        userID = item.recipient
        notificationID = item.notificationId
        category = item.category
        sealed = nil
        createdAt = WireTime.milliseconds(item.createdAt)
        self.releasedAt = releasedAt
        expiresAt = item.expiresAt.map(WireTime.milliseconds)
        self.locale = locale
        binding = Self.binding(of: self, tagger: tagger)
    }

    static let bindingPurpose = "inbox.reference"

    /// The keyed hash of what a reference row says (`tagger` of `bindingPurpose` under the app's key);
    /// fields are separated by a byte no id, locale or number contains.
    static func binding(of record: InboxItemRecord, tagger: DataKey.Tagger) -> Data {
        tagger.tag(
            [
                record.appID.rawValue, record.id.rawValue, record.userID.rawValue, record.notificationID.rawValue, record.category.rawValue,
                record.locale ?? "", String(record.createdAt), record.expiresAt.map { String($0) } ?? "",
            ], separator: 0x1F)
    }

    /// The opened shared content items reference, by notification and locale.
    typealias SharedContents = [SharedContentCache.Key: SharedContent]

    /// The item, opened with `keys`' data key of its recipient (and the app's for a reference).
    /// - Parameter tagger: the app key's tagger of `bindingPurpose`, made once for a page of rows (its
    ///   setup was a fifth of opening a reference); made here when nil.
    func item(keys: KeyRing, shared: SharedContents, tagger: DataKey.Tagger? = nil) throws -> InboxItem {
        try item(userKey: keys.key(.user(userID), in: appID), appKey: locale == nil ? nil : keys.key(.app, in: appID), shared: shared, tagger: tagger)
    }

    /// The item: opened with `userKey`, its recipient's data key; a reference is checked against its
    /// binding with `appKey` and takes its content from `shared` (what the backend's `sharedContents(of:)`
    /// gave for these records). A reference not yet signed has an empty `jws`: `InboxItemSigner` signs it
    /// before anyone sees it.
    /// - Throws: `HeraldError.notFound` when the recipient's key is gone (they are being erased);
    ///   `StoreCorruption` for a reference that is not Herald's or whose content is missing.
    func item(userKey: DataKey?, appKey: DataKey?, shared: SharedContents, tagger: DataKey.Tagger? = nil) throws -> InboxItem {
        guard let userKey else { throw HeraldError.notFound(resource: "inbox item") }
        let title: String
        let body: String
        let data: [String: JSONValue]?
        let actions: [NotificationAction]?
        var jws = ""
        if let locale {
            guard let appKey, let binding, ConstantTime.isEqual(binding, Self.binding(of: self, tagger: tagger ?? appKey.tagger(purpose: Self.bindingPurpose))),
                let content = shared[SharedContentCache.Key(app: appID, notification: notificationID, locale: locale)]
            else { throw StoreCorruption(table: "inboxItem", id: id.rawValue) }
            (title, body, data, actions) = (content.title, content.body, content.data, content.actions)
        } else {
            guard let sealed else { throw StoreCorruption(table: "inboxItem", id: id.rawValue) }
            let content = try userKey.open(json: sealed, as: Content.self, context: SealingContext.inboxItem(id))
            (title, body, data, actions, jws) = (content.title, content.body, content.data, content.actions, content.jws)
        }
        var performed: InboxItem.PerformedAction?
        if let actionID, let actedAt {
            performed = .init(
                actionId: actionID, input: try sealedInput.map { try userKey.open(json: $0, as: JSONValue.self, context: SealingContext.inboxInput(id)) },
                performedAt: WireTime.date(milliseconds: actedAt))
        }
        var item = InboxItem(
            id: id, notificationId: notificationID, recipient: userID, category: category, title: title, body: body, data: data,
            actions: actions, createdAt: WireTime.date(milliseconds: createdAt), expiresAt: expiresAt.map(WireTime.date(milliseconds:)),
            readAt: readAt.map(WireTime.date(milliseconds:)), archivedAt: archivedAt.map(WireTime.date(milliseconds:)), performed: performed, jws: jws)
        if locale != nil, let signature, let signedBy {
            item.jws = SigningKey.jws(kid: signedBy, payload: item.signedPayload(app: appID), signature: signature)
        }
        return item
    }

    var cursor: InboxQuery.Cursor { InboxQuery.Cursor(createdAt: createdAt, position: position ?? 0) }
}
