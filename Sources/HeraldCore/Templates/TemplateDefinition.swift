public import Foundation

/// What `PUT /v1/templates/{key}` defines: a category, a title and body in Mustache, localizations per
/// locale, optional actions, and follow-ups (the template to send when the customer takes an action).
public struct TemplateDefinition: Codable, Equatable, Sendable {
    /// A translation; what it leaves out falls back to the default text.
    public struct Localization: Codable, Equatable, Sendable {
        public var title: String?
        public var body: String?
        /// Action labels by action id.
        public var actions: [String: String]?

        public init(title: String? = nil, body: String? = nil, actions: [String: String]? = nil) {
            self.title = title
            self.body = body
            self.actions = actions
        }
    }

    public var category: NotificationCategory
    public var title: String
    public var body: String
    /// Keyed by BCP 47 tag (`ko`, `pt-BR`); matched case-insensitively, then by language alone.
    public var localizations: [String: Localization]
    public var actions: [NotificationAction]?
    /// Action id → the template sent to the same user when they take that action.
    public var followUps: [String: TemplateKey]

    public init(
        category: NotificationCategory, title: String, body: String, localizations: [String: Localization] = [:], actions: [NotificationAction]? = nil,
        followUps: [String: TemplateKey] = [:]
    ) {
        self.category = category
        self.title = title
        self.body = body
        self.localizations = localizations
        self.actions = actions
        self.followUps = followUps
    }

    /// Parses and checks a `PUT` body: every Mustache text must compile, follow-ups must name actions.
    public init(body data: Data) throws(HeraldError) {
        guard data.count <= Limits.templateBytes else { throw .tooLarge(detail: "A template may hold at most \(Limits.templateBytes) bytes.") }
        var reader = try ObjectReader(body: data)
        let categoryText = reader.string("category", required: true)
        let category = categoryText.flatMap(NotificationCategory.init(rawValue:))
        if categoryText != nil, category == nil { reader.report("category", .invalidValue, detail: NotificationCategory.choices) }
        let title = reader.string("title", required: true, maxLength: Limits.titleCharacters, minLength: 1)
        let body = reader.string("body", required: true, maxLength: Limits.bodyCharacters, minLength: 1)
        let actions = NotificationAction.readList("actions", from: &reader)
        var localizations: [String: Localization] = [:]
        if let value = reader.value("localizations") {
            if case .object(let entries) = value {
                for locale in entries.keys.sorted() {
                    if !UserProfile.isLanguageTag(locale) { reader.report("localizations.\(locale)", .invalidValue, detail: "a BCP 47 language tag") }
                    guard var fields = try? ObjectReader(entries[locale]!, path: "localizations.\(locale).") else {
                        reader.report("localizations.\(locale)", .wrongType, detail: "expected an object")
                        continue
                    }
                    let localization = Localization(
                        title: fields.string("title", maxLength: Limits.titleCharacters, minLength: 1),
                        body: fields.string("body", maxLength: Limits.bodyCharacters, minLength: 1),
                        actions: Self.readLabels(from: &fields, actions: actions ?? []))
                    reader.absorb(fields)
                    localizations[locale] = localization
                }
            } else {
                reader.report("localizations", .wrongType, detail: "expected an object keyed by locale")
            }
        }
        var followUps: [String: TemplateKey] = [:]
        if let value = reader.value("followUps") {
            if case .object(let entries) = value {
                for (actionID, target) in entries.sorted(by: { $0.key < $1.key }) {
                    if !(actions ?? []).contains(where: { $0.id == actionID }) {
                        reader.report("followUps.\(actionID)", .invalidValue, detail: "names no action of this template")
                    }
                    guard case .string(let raw) = target, let key = TemplateKey(rawValue: raw) else {
                        reader.report("followUps.\(actionID)", .invalidIdentifier, detail: "a template key")
                        continue
                    }
                    followUps[actionID] = key
                }
            } else {
                reader.report("followUps", .wrongType, detail: "expected an object of action id to template key")
            }
        }
        try reader.finish()
        self.init(category: category!, title: title!, body: body!, localizations: localizations, actions: actions, followUps: followUps)
        try CompiledTemplate.check(self)
    }

    private static func readLabels(from fields: inout ObjectReader, actions: [NotificationAction]) -> [String: String]? {
        guard let value = fields.value("actions") else { return nil }
        guard case .object(let entries) = value else {
            fields.report("actions", .wrongType, detail: "expected an object of action id to label")
            return nil
        }
        var labels: [String: String] = [:]
        for (id, label) in entries {
            guard actions.contains(where: { $0.id == id }) else {
                fields.report("actions.\(id)", .invalidValue, detail: "names no action of this template")
                continue
            }
            guard case .string(let text) = label, (1...Limits.actionLabelCharacters).contains(text.count) else {
                fields.report("actions.\(id)", .invalidValue, detail: "a label of 1 to \(Limits.actionLabelCharacters) characters")
                continue
            }
            labels[id] = text
        }
        return labels
    }
}

/// A stored version of a template. Each `PUT` makes a new version; a notification records the one it used.
public struct Template: Codable, Equatable, Sendable {
    public var key: TemplateKey
    public var version: Int
    public var createdAt: Date
    public var definition: TemplateDefinition

    public init(key: TemplateKey, version: Int, createdAt: Date, definition: TemplateDefinition) {
        self.key = key
        self.version = version
        self.createdAt = createdAt
        self.definition = definition
    }

    enum CodingKeys: String, CodingKey { case key, version, createdAt }

    /// On the wire the definition's fields sit beside `key`, `version` and `createdAt`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        key = try container.decode(TemplateKey.self, forKey: .key)
        version = try container.decode(Int.self, forKey: .version)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        definition = try TemplateDefinition(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        try definition.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(key, forKey: .key)
        try container.encode(version, forKey: .version)
        try container.encode(createdAt, forKey: .createdAt)
    }
}
