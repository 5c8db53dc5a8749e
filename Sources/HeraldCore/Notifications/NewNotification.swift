public import Foundation

/// The validated body of `POST /v1/notifications`.
public struct NewNotification: Equatable, Sendable {
    public enum Audience: Equatable, Sendable {
        /// Explicit users (unique, at most `Limits.recipientsPerNotification`).
        case users([UserID])
        case segment(Segment)
    }

    public enum Source: Equatable, Sendable {
        case template(TemplateKey, variables: [String: JSONValue])
        case content(title: String, body: String)
    }

    public var audience: Audience
    /// Nil with a template means the template's own category.
    public var category: NotificationCategory?
    public var source: Source
    public var data: [String: JSONValue]?
    /// Replace the template's actions when given.
    public var actions: [NotificationAction]?
    public var sendAt: Date?
    public var expiresAt: Date?
    /// The journey sending it (never read from a request body).
    public var journey: JourneyKey?

    public init(
        audience: Audience, category: NotificationCategory?, source: Source, data: [String: JSONValue]? = nil, actions: [NotificationAction]? = nil,
        sendAt: Date? = nil, expiresAt: Date? = nil, journey: JourneyKey? = nil
    ) {
        self.journey = journey
        self.audience = audience
        self.category = category
        self.source = source
        self.data = data
        self.actions = actions
        self.sendAt = sendAt
        self.expiresAt = expiresAt
    }

    /// - Parameter now: to refuse an `expiresAt` in the past and a `sendAt` more than a year ahead.
    public init(body: Data, now: Date) throws(HeraldError) {
        var reader = try ObjectReader(body: body)
        let recipients = reader.list("recipients", count: 1...Limits.recipientsPerNotification) { text in
            (UserID(rawValue: text), .invalidIdentifier)
        }
        let segment = reader.value("segment").flatMap { Segment.read($0, into: &reader) }
        let categoryText = reader.string("category")
        let category = categoryText.flatMap(NotificationCategory.init(rawValue:))
        if categoryText != nil, category == nil { reader.report("category", .invalidValue, detail: NotificationCategory.choices) }
        let template = reader.string("template").map { raw -> TemplateKey? in
            let key = TemplateKey(rawValue: raw)
            if key == nil { reader.report("template", .invalidIdentifier) }
            return key
        }
        let variables = reader.object("variables", maxBytes: Limits.variablesBytes)
        var content: (String, String)?
        if let value = reader.value("content") {
            if var fields = try? ObjectReader(value, path: "content.") {
                let title = fields.string("title", required: true, maxLength: Limits.titleCharacters, minLength: 1)
                let body = fields.string("body", required: true, maxLength: Limits.bodyCharacters, minLength: 1)
                reader.absorb(fields)
                if let title, let body { content = (title, body) }
            } else {
                reader.report("content", .wrongType, detail: "expected an object with title and body")
            }
        }
        let data = reader.object("data", maxBytes: Limits.messageDataBytes)
        let actions = NotificationAction.readList("actions", from: &reader)
        let sendAt = Self.readTime("sendAt", from: &reader)
        let expiresAt = Self.readTime("expiresAt", from: &reader)

        if recipients == nil, segment == nil, !reader.problems.contains(where: { $0.field.hasPrefix("recipients") || $0.field.hasPrefix("segment") }) {
            reader.report("recipients", .required, detail: "give recipients or a segment")
        }
        if recipients != nil, segment != nil { reader.report("segment", .invalidValue, detail: "give recipients or a segment, not both") }
        if template == nil, content == nil, !reader.problems.contains(where: { $0.field.hasPrefix("template") || $0.field.hasPrefix("content") }) {
            reader.report("template", .required, detail: "give a template or content")
        }
        if template != nil, content != nil { reader.report("content", .invalidValue, detail: "give a template or content, not both") }
        if content != nil, categoryText == nil { reader.report("category", .required, detail: "literal content needs a category") }
        if variables != nil, content != nil { reader.report("variables", .invalidValue, detail: "variables need a template") }
        if let sendAt, sendAt > now.addingTimeInterval(366 * 86_400) { reader.report("sendAt", .outOfRange, detail: "at most a year ahead") }
        if let expiresAt {
            if expiresAt <= now { reader.report("expiresAt", .outOfRange, detail: "must be in the future") }
            if let sendAt, expiresAt <= sendAt { reader.report("expiresAt", .outOfRange, detail: "must be after sendAt") }
        }
        try reader.finish()

        var seen = Set<UserID>()
        audience = recipients.map { .users($0.filter { seen.insert($0).inserted }) } ?? .segment(segment!)
        self.category = category
        if let template, let template {
            source = .template(template, variables: variables ?? [:])
        } else {
            source = .content(title: content!.0, body: content!.1)
        }
        self.data = data
        self.actions = actions
        self.sendAt = sendAt.flatMap { $0 > now ? $0 : nil }
        self.expiresAt = expiresAt
    }

    private static func readTime(_ key: String, from reader: inout ObjectReader) -> Date? {
        guard let text = reader.string(key) else { return nil }
        guard let date = WireTime.parse(text) else {
            reader.report(key, .invalidValue, detail: "an RFC 3339 time such as 2026-12-01T09:00:00Z")
            return nil
        }
        return date
    }

    /// The one customer a notification is addressed to, if it has exactly one: what is kept about the
    /// request (its idempotency key) is erased with that customer.
    public var soleRecipient: UserID? {
        if case .users(let users) = audience, users.count == 1 { users[0] } else { nil }
    }
}
