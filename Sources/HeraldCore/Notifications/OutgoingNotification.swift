public import Foundation

/// A notification as stored: what to send, to whom, and when. The fan-out writes one inbox item per
/// recipient; it can be resumed after a crash, since each recipient gets at most one item.
public struct OutgoingNotification: Equatable, Sendable {
    public enum Status: String, Codable, Sendable {
        /// Waiting for `sendAt`.
        case scheduled
        /// Being written to inboxes.
        case sending
        /// Every recipient has their item.
        case sent
        /// It can never be sent as stored (its template no longer renders within the limits, or is
        /// gone): it stops being retried. Recipients written before the failure keep their items.
        case failed
    }

    /// How long a process may fan out a notification before another may take it over.
    public static let leaseSeconds: TimeInterval = 300

    public var id: NotificationID
    public var app: AppID
    public var category: NotificationCategory
    public var source: NewNotification.Source
    /// The template version used, so a later edit of the template does not change what this one says.
    public var templateVersion: Int?
    public var audience: NewNotification.Audience
    public var data: [String: JSONValue]?
    /// The send's own actions; nil means the template's (with their localized labels).
    public var actions: [NotificationAction]?
    public var sendAt: Date?
    public var expiresAt: Date?
    public var createdAt: Date
    public var status: Status
    /// The journey whose step (a send, or a digest it opened) made it; nil for one the business sent.
    /// Stored with the notification, so its items' events know it from the start (`CustomerEvent.isAboutJourneyItem`).
    public var journey: JourneyKey?

    public init(
        id: NotificationID, app: AppID, category: NotificationCategory, source: NewNotification.Source, templateVersion: Int?,
        audience: NewNotification.Audience, data: [String: JSONValue]?, actions: [NotificationAction]?, sendAt: Date?, expiresAt: Date?,
        createdAt: Date, status: Status, journey: JourneyKey? = nil
    ) {
        self.journey = journey
        self.id = id
        self.app = app
        self.category = category
        self.source = source
        self.templateVersion = templateVersion
        self.audience = audience
        self.data = data
        self.actions = actions
        self.sendAt = sendAt
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.status = status
    }

    public var templateKey: TemplateKey? {
        if case .template(let key, _) = source { return key }
        return nil
    }

    /// Whether the audience is one listed user: their item's content concerns them alone (it is sealed
    /// with their key, so erasing them shreds it), where a larger audience's is the business's broadcast,
    /// stored once.
    public var isForOnePerson: Bool {
        if case .users(let ids) = audience { return Set(ids).count == 1 }
        return false
    }

    /// Whether an immediate send fans out in the background (the scheduler's) rather than before the
    /// request answers: a segment's size is unbounded (a million customers take seconds), a list is at
    /// most 10,000.
    public var fansOutInBackground: Bool {
        if case .segment = audience { return true }
        return false
    }

    public var variables: [String: JSONValue] {
        if case .template(_, let variables) = source { return variables }
        return [:]
    }
}

/// `GET /v1/notifications/{id}`: the notification and what became of it.
public struct NotificationReport: Codable, Equatable, Sendable {
    public var id: NotificationID
    public var category: NotificationCategory
    public var template: TemplateKey?
    public var templateVersion: Int?
    public var status: OutgoingNotification.Status
    public var sendAt: Date?
    public var expiresAt: Date?
    public var createdAt: Date
    public var completedAt: Date?
    /// Users who got an inbox item.
    public var recipients: Int
    /// Users of the audience who got none: no marketing consent, or the item would have expired first.
    public var skipped: Int
    /// Items that reached the customer's app (live socket or fetched).
    public var delivered: Int
    public var read: Int
    public var acted: Int

    public init(
        id: NotificationID, category: NotificationCategory, template: TemplateKey?, templateVersion: Int?, status: OutgoingNotification.Status,
        sendAt: Date?, expiresAt: Date?, createdAt: Date, completedAt: Date?, recipients: Int, skipped: Int, delivered: Int, read: Int, acted: Int
    ) {
        self.id = id
        self.category = category
        self.template = template
        self.templateVersion = templateVersion
        self.status = status
        self.sendAt = sendAt
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.completedAt = completedAt
        self.recipients = recipients
        self.skipped = skipped
        self.delivered = delivered
        self.read = read
        self.acted = acted
    }
}
