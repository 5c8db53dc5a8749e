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

    /// What the customer reads, and its signature (whose payload is that content).
    struct Content: Codable {
        var title: String
        var body: String
        var data: [String: JSONValue]?
        var actions: [NotificationAction]?
        var jws: String
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

    /// The item, opened with `keys`' data key of its recipient.
    func item(keys: KeyRing) throws -> InboxItem {
        try item(key: keys.key(.user(userID), in: appID))
    }

    /// The item, opened with `key`, its recipient's data key.
    /// - Throws: `HeraldError.notFound` when the recipient's key is gone (they are being erased).
    func item(key: DataKey?) throws -> InboxItem {
        guard let sealed, let key else {
            throw HeraldError.notFound(resource: "inbox item")
        }
        let content = try key.open(json: sealed, as: Content.self, context: SealingContext.inboxItem(id))
        var performed: InboxItem.PerformedAction?
        if let actionID, let actedAt {
            performed = .init(
                actionId: actionID, input: try sealedInput.map { try key.open(json: $0, as: JSONValue.self, context: SealingContext.inboxInput(id)) },
                performedAt: WireTime.date(milliseconds: actedAt))
        }
        return InboxItem(
            id: id, notificationId: notificationID, recipient: userID, category: category, title: content.title, body: content.body, data: content.data,
            actions: content.actions, createdAt: WireTime.date(milliseconds: createdAt), expiresAt: expiresAt.map(WireTime.date(milliseconds:)),
            readAt: readAt.map(WireTime.date(milliseconds:)), archivedAt: archivedAt.map(WireTime.date(milliseconds:)), performed: performed, jws: content.jws)
    }

    var cursor: InboxQuery.Cursor { InboxQuery.Cursor(createdAt: createdAt, position: position ?? 0) }
}
