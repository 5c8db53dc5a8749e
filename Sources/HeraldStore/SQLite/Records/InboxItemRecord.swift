import Foundation
import GRDB
import HeraldCore

struct InboxItemRecord: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "inboxItem"
    var position: Int64?
    var id: String
    var appID: String
    var userID: String
    var notificationID: String
    var category: String
    var title: String
    var body: String
    var data: String?
    var actions: String?
    var jws: String
    /// When it entered (or enters) the inbox: the order of the inbox, and the time it is signed with.
    var createdAt: Int64
    /// Set when it was published to the user; nil while held (quiet hours).
    var releasedAt: Int64?
    var expiresAt: Int64?
    var deliveredAt: Int64?
    var readAt: Int64?
    var archivedAt: Int64?
    var actionID: String?
    var actionInput: String?
    var actedAt: Int64?

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

    init(_ item: InboxItem, app: AppID, releasedAt: Int64?) throws {
        id = item.id.rawValue
        appID = app.rawValue
        userID = item.recipient.rawValue
        notificationID = item.notificationId.rawValue
        category = item.category.rawValue
        title = item.title
        body = item.body
        data = item.data.map(JSONColumn.encode)
        actions = try item.actions.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        jws = item.jws
        createdAt = WireTime.milliseconds(item.createdAt)
        self.releasedAt = releasedAt
        expiresAt = item.expiresAt.map(WireTime.milliseconds)
    }

    func item() throws -> InboxItem {
        var performed: InboxItem.PerformedAction?
        if let actionID, let actedAt {
            performed = .init(
                actionId: actionID, input: actionInput.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) },
                performedAt: WireTime.date(milliseconds: actedAt))
        }
        return InboxItem(
            id: InboxItemID(rawValue: id)!, notificationId: NotificationID(rawValue: notificationID)!, recipient: UserID(rawValue: userID)!,
            category: NotificationCategory(rawValue: category) ?? .transactional, title: title, body: body, data: data.flatMap(JSONColumn.decodeObject),
            actions: try actions.map { try JSONDecoder().decode([NotificationAction].self, from: Data($0.utf8)) },
            createdAt: WireTime.date(milliseconds: createdAt), expiresAt: expiresAt.map(WireTime.date(milliseconds:)),
            readAt: readAt.map(WireTime.date(milliseconds:)), archivedAt: archivedAt.map(WireTime.date(milliseconds:)), performed: performed, jws: jws)
    }

    var cursor: InboxQuery.Cursor { InboxQuery.Cursor(createdAt: createdAt, position: position ?? 0) }
}
