import Foundation
import GRDB
import HeraldCore

struct NotificationRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "notification"
    var id: NotificationID
    var appID: AppID
    var category: NotificationCategory
    var templateKey: TemplateKey?
    var templateVersion: Int?
    /// `Content`, sealed with the app's data key.
    var sealed: Data?
    /// `{"sealed": true}`: the audience is in `Content` (a segment's metadata values are what the blind
    /// index of user metadata hides; a list of recipients says who was told what). Rows from before that
    /// hold `{"users": [...]}` or `{"segment": {...}}` here, in clear, and are read as they are.
    var audience: String
    var sendAt: Int64?
    var expiresAt: Int64?
    var status: OutgoingNotification.Status
    var audienceSize: Int?
    var leaseUntil: Int64?
    var createdAt: Int64
    var completedAt: Int64?
    /// Users of the audience a fan-out has covered so far (`InboxWrite.Progress`): with `recipients`,
    /// the report's progress while it is `sending`.
    var fanOutSeen: Int?
    /// The journey that sent it (`OutgoingNotification.journey`).
    var journeyKey: JourneyKey?

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let appID = Column(CodingKeys.appID)
        static let status = Column(CodingKeys.status)
        static let sendAt = Column(CodingKeys.sendAt)
        static let leaseUntil = Column(CodingKeys.leaseUntil)
    }

    /// What the business said: template variables or literal content, data and actions.
    struct Content: Codable {
        /// `{"variables": {...}}` for a template, `{"title", "body"}` for literal content.
        var source: [String: JSONValue]
        var data: [String: JSONValue]?
        var actions: [NotificationAction]?
        /// `{"users": [...]}` or `{"segment": {...}}`; nil in rows from before it was sealed.
        var audience: [String: JSONValue]?
    }

    static let sealedAudience = JSONColumn.encode(["sealed": .bool(true)])

    init(_ notification: OutgoingNotification, key: DataKey) throws {
        id = notification.id
        appID = notification.app
        category = notification.category
        templateVersion = notification.templateVersion
        let source: [String: JSONValue]
        switch notification.source {
        case .template(let template, let variables):
            templateKey = template
            source = ["variables": .object(variables)]
        case .content(let title, let body):
            templateKey = nil
            source = ["title": .string(title), "body": .string(body)]
        }
        let audienceFields: [String: JSONValue] =
            switch notification.audience {
            case .users(let users): ["users": .array(users.map { .string($0.rawValue) })]
            case .segment(let segment): ["segment": .object(segment.metadata)]
            }
        sealed = try key.seal(
            json: Content(source: source, data: notification.data, actions: notification.actions, audience: audienceFields),
            context: SealingContext.notification(notification.id))
        audience = Self.sealedAudience
        sendAt = notification.sendAt.map(WireTime.milliseconds)
        expiresAt = notification.expiresAt.map(WireTime.milliseconds)
        status = notification.status
        createdAt = WireTime.milliseconds(notification.createdAt)
        journeyKey = notification.journey
        // An immediate send to a list is fanned out by the request that created it: leased to it, so the
        // scheduler resumes it only if that process stops. One in the background is free to claim at once.
        if notification.status == .sending, !notification.fansOutInBackground {
            leaseUntil = createdAt + Int64(OutgoingNotification.leaseSeconds * 1000)
        }
    }

    func notification(keys: KeyRing) throws -> OutgoingNotification {
        try notification(key: keys.key(.app, in: appID))
    }

    /// The notification, opened with `key`, the app's data key.
    func notification(key: DataKey?) throws -> OutgoingNotification {
        guard let sealed, let key else { throw StoreCorruption(table: Self.databaseTableName, id: id.rawValue) }
        let corrupt = StoreCorruption(table: Self.databaseTableName, id: id.rawValue)
        let content = try key.open(json: sealed, as: Content.self, context: SealingContext.notification(id))
        let sourceFields = content.source
        let source: NewNotification.Source
        if let templateKey {
            guard case .object(let variables)? = sourceFields["variables"] else { throw corrupt }
            source = .template(templateKey, variables: variables)
        } else {
            guard case .string(let title)? = sourceFields["title"], case .string(let body)? = sourceFields["body"] else {
                throw corrupt
            }
            source = .content(title: title, body: body)
        }
        guard let audienceFields = content.audience ?? JSONColumn.decodeObject(audience) else { throw corrupt }
        let audience: NewNotification.Audience
        if case .array(let users)? = audienceFields["users"] {
            audience = .users(try users.map { value in
                guard case .string(let raw) = value, let user = UserID(rawValue: raw) else { throw corrupt }
                return user
            })
        } else if case .object(let metadata)? = audienceFields["segment"] {
            audience = .segment(Segment(metadata: metadata))
        } else {
            throw corrupt
        }
        return OutgoingNotification(
            id: id, app: appID, category: category,
            source: source, templateVersion: templateVersion, audience: audience, data: content.data, actions: content.actions,
            sendAt: sendAt.map(WireTime.date(milliseconds:)), expiresAt: expiresAt.map(WireTime.date(milliseconds:)),
            createdAt: WireTime.date(milliseconds: createdAt), status: status, journey: journeyKey)
    }
}

/// A row that does not decode as what its table holds: never expected, reported rather than crashing.

extension NotificationRecord {
    /// The report `GET /v1/notifications/{id}` shows, from the row and its items' counts (both
    /// backends count the same four things; only the SQL differs).
    func report(recipients: Int, delivered: Int, read: Int, acted: Int) -> NotificationReport {
        NotificationReport(
            id: id, category: category, template: templateKey, templateVersion: templateVersion, status: status,
            sendAt: sendAt.map(WireTime.date(milliseconds:)), expiresAt: expiresAt.map(WireTime.date(milliseconds:)),
            createdAt: WireTime.date(milliseconds: createdAt), completedAt: completedAt.map(WireTime.date(milliseconds:)),
            recipients: recipients, skipped: max(0, (audienceSize ?? fanOutSeen ?? recipients) - recipients), delivered: delivered, read: read, acted: acted)
    }
}
