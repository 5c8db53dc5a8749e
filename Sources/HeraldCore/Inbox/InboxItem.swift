public import Foundation
import Crypto

/// One business message in a customer's in-app inbox: rendered for them, signed by the app.
///
/// Clients show the verified payload of `jws`, not these outer fields, which are a convenience for
/// lists and filters.
public struct InboxItem: Codable, Equatable, Sendable {
    /// The action the customer took, recorded once.
    public struct PerformedAction: Codable, Equatable, Sendable {
        public var actionId: String
        public var input: JSONValue?
        public var performedAt: Date

        public init(actionId: String, input: JSONValue?, performedAt: Date) {
            self.actionId = actionId
            self.input = input
            self.performedAt = performedAt
        }
    }

    public var id: InboxItemID
    public var notificationId: NotificationID
    public var recipient: UserID
    public var category: NotificationCategory
    public var title: String
    public var body: String
    public var data: [String: JSONValue]?
    public var actions: [NotificationAction]?
    /// When it entered the inbox; later than the send for marketing held during quiet hours.
    public var createdAt: Date
    public var expiresAt: Date?
    public var readAt: Date?
    public var archivedAt: Date?
    public var performed: PerformedAction?
    public var jws: String
    /// Four digits the app shows next to the item, and the only thing a message outside the app (an SMS,
    /// an e-mail: `FallbackText`) says of it, so the customer can match the two. Derived from the id, so
    /// every client can check it; computed when asked (written into JSON), not for every item made.
    public var reference: String { Self.reference(of: id) }

    public init(
        id: InboxItemID, notificationId: NotificationID, recipient: UserID, category: NotificationCategory, title: String, body: String,
        data: [String: JSONValue]?, actions: [NotificationAction]?, createdAt: Date, expiresAt: Date?, readAt: Date? = nil, archivedAt: Date? = nil,
        performed: PerformedAction? = nil, jws: String = ""
    ) {
        self.id = id
        self.notificationId = notificationId
        self.recipient = recipient
        self.category = category
        self.title = title
        self.body = body
        self.data = data
        self.actions = actions
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.readAt = readAt
        self.archivedAt = archivedAt
        self.performed = performed
        self.jws = jws
    }

    private enum CodingKeys: String, CodingKey {
        case id, notificationId, recipient, category, title, body, data, actions, createdAt, expiresAt, readAt, archivedAt, performed, jws, reference
    }

    /// Read back from JSON (the SDK reads the server's), the reference is computed from the id, never
    /// taken from what was sent: an older server sends none, and a wrong one changes nothing.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try container.decode(InboxItemID.self, forKey: .id), notificationId: try container.decode(NotificationID.self, forKey: .notificationId),
            recipient: try container.decode(UserID.self, forKey: .recipient), category: try container.decode(NotificationCategory.self, forKey: .category),
            title: try container.decode(String.self, forKey: .title), body: try container.decode(String.self, forKey: .body),
            data: try container.decodeIfPresent([String: JSONValue].self, forKey: .data),
            actions: try container.decodeIfPresent([NotificationAction].self, forKey: .actions), createdAt: try container.decode(Date.self, forKey: .createdAt),
            expiresAt: try container.decodeIfPresent(Date.self, forKey: .expiresAt), readAt: try container.decodeIfPresent(Date.self, forKey: .readAt),
            archivedAt: try container.decodeIfPresent(Date.self, forKey: .archivedAt),
            performed: try container.decodeIfPresent(PerformedAction.self, forKey: .performed), jws: try container.decode(String.self, forKey: .jws))
    }

    /// The JSON `WireJSON` writes: the stored fields (absent optionals left out) and the reference.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(notificationId, forKey: .notificationId)
        try container.encode(recipient, forKey: .recipient)
        try container.encode(category, forKey: .category)
        try container.encode(title, forKey: .title)
        try container.encode(body, forKey: .body)
        try container.encodeIfPresent(data, forKey: .data)
        try container.encodeIfPresent(actions, forKey: .actions)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encodeIfPresent(expiresAt, forKey: .expiresAt)
        try container.encodeIfPresent(readAt, forKey: .readAt)
        try container.encodeIfPresent(archivedAt, forKey: .archivedAt)
        try container.encodeIfPresent(performed, forKey: .performed)
        try container.encode(jws, forKey: .jws)
        try container.encode(reference, forKey: .reference)
    }

    /// The first four bytes of the SHA-256 of the id, as a number below 10,000, in four digits.
    public static func reference(of id: InboxItemID) -> String {
        let digest = Array(SHA256.hash(data: Data(id.rawValue.utf8)))
        let number = digest.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) } % 10_000
        let digits = String(number)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    public func isExpired(at now: Date) -> Bool { expiresAt.map { $0 <= now } ?? false }

    /// The JSON the `jws` covers (API.md): what the customer sees, bound to the app and the recipient.
    public func signedPayload(app: AppID) -> Data {
        var object: [String: JSONValue] = [
            "kind": .string("inbox"), "appId": .string(app.rawValue), "id": .string(id.rawValue), "recipient": .string(recipient.rawValue),
            "category": .string(category.rawValue), "title": .string(title), "body": .string(body), "createdAt": .string(WireTime.format(createdAt)),
        ]
        if let data { object["data"] = .object(data) }
        if let actions {
            object["actions"] = .array(
                actions.map { action in
                    var fields: [String: JSONValue] = ["id": .string(action.id), "label": .string(action.label), "stepUp": .bool(action.stepUp)]
                    if let input = action.input {
                        switch input {
                        case .choice(let options): fields["input"] = .object(["type": .string("choice"), "options": .array(options.map(JSONValue.string))])
                        case .rating: fields["input"] = .object(["type": .string("rating")])
                        case .text(let maxLength): fields["input"] = .object(["type": .string("text"), "maxLength": .number(Double(maxLength))])
                        }
                    }
                    return .object(fields)
                })
        }
        if let expiresAt { object["expiresAt"] = .string(WireTime.format(expiresAt)) }
        return JSONValue.object(object).canonicalData()
    }
}

/// A page of `GET /v1/me/inbox`, newest first.
public struct InboxPage: Codable, Equatable, Sendable {
    public var items: [InboxItem]
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    public var nextCursor: String?
    /// Unread, unarchived, unexpired items across the whole inbox (not only this page).
    public var unreadCount: Int

    public init(items: [InboxItem], nextCursor: String?, unreadCount: Int) {
        self.items = items
        self.nextCursor = nextCursor
        self.unreadCount = unreadCount
    }
}
