public import Foundation

/// Something a customer did or that happened to them, as the business (`POST /v1/events`) or Herald
/// itself (`item.read`, `user.created`) recorded it: what journeys start on, wait for and leave on.
///
/// Its properties may say anything about the customer (an amount, a merchant), so the store seals them
/// with the customer's key: erasing the customer shreds them.
public struct CustomerEvent: Equatable, Sendable, Codable {
    public var id: EventID
    public var user: UserID
    public var name: String
    public var properties: [String: JSONValue]
    public var occurredAt: Date
    public var recordedAt: Date

    public init(id: EventID, user: UserID, name: String, properties: [String: JSONValue], occurredAt: Date, recordedAt: Date) {
        self.id = id
        self.user = user
        self.name = name
        self.properties = properties
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
    }

    private enum CodingKeys: String, CodingKey {
        case id, name, properties, occurredAt, recordedAt
        case user = "userId"
    }

    /// What conditions and variables see as `event`: `{"name", "occurredAt", "properties"}`.
    public var contextValue: JSONValue {
        .object(["name": .string(name), "occurredAt": .string(WireTime.format(occurredAt)), "properties": .object(properties)])
    }

    /// Names Herald records itself; a business may not send them, so a journey waiting for `item.read`
    /// can trust that the customer read the item.
    public static let reservedPrefixes = ["item.", "user.", "herald."]

    public static func isReserved(_ name: String) -> Bool { reservedPrefixes.contains { name.hasPrefix($0) } }

    /// The changes of an inbox item Herald records as events, for apps with a journey that names one:
    /// `item.<state>` with `{"itemId", "notificationId", "category", "action"?, "journey"?}` (`action` the
    /// action's id for `item.acted`; `journey` the key of the journey whose step sent the item).
    public enum ItemState: String, Sendable, CaseIterable {
        case delivered, read, acted, expired

        public var eventName: String { "item.\(rawValue)" }
    }

    public static let itemEventNames = Set(ItemState.allCases.map(\.eventName))

    /// Whether this is an item event about an item a journey sent. Such an event never starts a journey
    /// (a journey triggered by `item.delivered` would otherwise trigger itself on its own sends, for
    /// ever); it still ends waits and runs (`exitOn`).
    public var isAboutJourneyItem: Bool {
        Self.itemEventNames.contains(name) && properties["journey"] != nil
    }
}

/// The body of `POST /v1/events`: `{userId, name, properties?, occurredAt?}`.
public struct NewCustomerEvent: Equatable, Sendable {
    public var user: UserID
    public var name: String
    public var properties: [String: JSONValue]
    public var occurredAt: Date

    /// At most this much JSON of properties: what a condition or a template variable needs, not a document.
    public static let maxPropertiesBytes = 8 * 1024
    /// How far ahead of the server's clock an `occurredAt` may be (clocks differ), and how far back.
    public static let futureSlackSeconds: TimeInterval = 300
    public static let maxAgeSeconds: TimeInterval = 30 * 86_400

    public init(user: UserID, name: String, properties: [String: JSONValue] = [:], occurredAt: Date) {
        self.user = user
        self.name = name
        self.properties = properties
        self.occurredAt = occurredAt
    }

    /// Reads and checks a body; every problem is named.
    /// - Parameter now: `occurredAt` defaults to it, and may be at most 5 minutes after it and 30 days before.
    public init(body: Data, now: Date) throws(HeraldError) {
        var reader = try ObjectReader(body: body)
        let userText = reader.string("userId", required: true)
        let user = userText.flatMap(UserID.init(rawValue:))
        if userText != nil, user == nil { reader.report("userId", .invalidIdentifier) }
        let name = reader.string("name", required: true) ?? ""
        if reader.problems.allSatisfy({ $0.field != "name" }) {
            if !JourneyDefinition.isEventName(name) {
                reader.report("name", .invalidValue, detail: "1 to 64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter")
            } else if CustomerEvent.isReserved(name) {
                reader.report("name", .invalidValue, detail: "names starting with item., user. or herald. are recorded by Herald itself")
            }
        }
        properties = reader.object("properties", maxBytes: Self.maxPropertiesBytes) ?? [:]
        var occurredAt = WireTime.truncated(now)
        if let text = reader.string("occurredAt") {
            if let date = WireTime.parse(text) {
                if date > now.addingTimeInterval(Self.futureSlackSeconds) {
                    reader.report("occurredAt", .invalidValue, detail: "at most 5 minutes after the server's clock")
                } else if date < now.addingTimeInterval(-Self.maxAgeSeconds) {
                    reader.report("occurredAt", .invalidValue, detail: "at most 30 days ago")
                }
                occurredAt = WireTime.truncated(date)
            } else {
                reader.report("occurredAt", .invalidValue, detail: "an RFC 3339 time such as 2026-12-01T09:00:00Z")
            }
        }
        try reader.finish()
        guard let user else { throw .invalid([FieldProblem(field: "userId", reason: .required)]) }
        self.user = user
        self.name = name
        self.occurredAt = occurredAt
    }
}
