import Foundation
import GRDB
import HeraldCore

struct NotificationRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "notification"
    var id: String
    var appID: String
    var category: String
    var templateKey: String?
    var templateVersion: Int?
    /// `{"variables": {...}}` for a template, `{"title", "body"}` for literal content.
    var source: String
    /// `{"users": [...]}` or `{"segment": {...}}`.
    var audience: String
    var data: String?
    var actions: String?
    var sendAt: Int64?
    var expiresAt: Int64?
    var status: String
    var audienceSize: Int?
    var leaseUntil: Int64?
    var createdAt: Int64
    var completedAt: Int64?

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let appID = Column(CodingKeys.appID)
        static let status = Column(CodingKeys.status)
        static let sendAt = Column(CodingKeys.sendAt)
        static let leaseUntil = Column(CodingKeys.leaseUntil)
    }

    init(_ notification: OutgoingNotification) throws {
        id = notification.id.rawValue
        appID = notification.app.rawValue
        category = notification.category.rawValue
        templateVersion = notification.templateVersion
        switch notification.source {
        case .template(let key, let variables):
            templateKey = key.rawValue
            source = JSONColumn.encode(["variables": .object(variables)])
        case .content(let title, let body):
            templateKey = nil
            source = JSONColumn.encode(["title": .string(title), "body": .string(body)])
        }
        switch notification.audience {
        case .users(let users): audience = JSONColumn.encode(["users": .array(users.map { .string($0.rawValue) })])
        case .segment(let segment): audience = JSONColumn.encode(["segment": .object(segment.metadata)])
        }
        data = notification.data.map(JSONColumn.encode)
        actions = try notification.actions.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        sendAt = notification.sendAt.map(WireTime.milliseconds)
        expiresAt = notification.expiresAt.map(WireTime.milliseconds)
        status = notification.status.rawValue
        createdAt = WireTime.milliseconds(notification.createdAt)
        // An immediate send is fanned out by the request that created it: leased to it, so the scheduler
        // resumes it only if that process stops.
        if notification.status == .sending { leaseUntil = createdAt + Int64(OutgoingNotification.leaseSeconds * 1000) }
    }

    func notification() throws -> OutgoingNotification {
        let sourceFields = JSONColumn.decodeObject(source) ?? [:]
        let source: NewNotification.Source
        if let templateKey, let key = TemplateKey(rawValue: templateKey) {
            guard case .object(let variables)? = sourceFields["variables"] else { throw StoreCorruption(table: Self.databaseTableName, id: id) }
            source = .template(key, variables: variables)
        } else {
            guard case .string(let title)? = sourceFields["title"], case .string(let body)? = sourceFields["body"] else {
                throw StoreCorruption(table: Self.databaseTableName, id: id)
            }
            source = .content(title: title, body: body)
        }
        let audienceFields = JSONColumn.decodeObject(audience) ?? [:]
        let audience: NewNotification.Audience
        if case .array(let users)? = audienceFields["users"] {
            audience = .users(users.compactMap { if case .string(let raw) = $0 { UserID(rawValue: raw) } else { nil } })
        } else if case .object(let metadata)? = audienceFields["segment"] {
            audience = .segment(Segment(metadata: metadata))
        } else {
            throw StoreCorruption(table: Self.databaseTableName, id: id)
        }
        return OutgoingNotification(
            id: NotificationID(rawValue: id)!, app: AppID(rawValue: appID)!, category: NotificationCategory(rawValue: category) ?? .transactional,
            source: source, templateVersion: templateVersion, audience: audience, data: data.flatMap(JSONColumn.decodeObject),
            actions: try actions.map { try JSONDecoder().decode([NotificationAction].self, from: Data($0.utf8)) },
            sendAt: sendAt.map(WireTime.date(milliseconds:)), expiresAt: expiresAt.map(WireTime.date(milliseconds:)),
            createdAt: WireTime.date(milliseconds: createdAt), status: OutgoingNotification.Status(rawValue: status) ?? .sending)
    }
}

/// A row that does not decode as what its table holds: never expected, reported rather than crashing.
struct StoreCorruption: Error, CustomStringConvertible {
    var table: String
    var id: String
    var description: String { "unreadable row \(id) in \(table)" }
}
