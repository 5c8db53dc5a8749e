public import Foundation

/// An app's settings (`GET`/`PUT /v1/settings`). A `PUT` is merged: each section given replaces the
/// fields it names and leaves the rest as they were.
public struct AppSettings: Codable, Equatable, Sendable {
    public struct LinkPolicySettings: Codable, Equatable, Sendable {
        /// Normalized domains (ASCII, lower case); subdomains are allowed with them.
        public var allowedDomains: [String] = []
    }

    public struct Retention: Codable, Equatable, Sendable {
        /// Messages older than this many days are deleted; nil keeps them for ever.
        public var messageDays: Int?
    }

    /// How much of a notification a push may show, per category.
    public enum PushContent: String, Codable, Sendable {
        /// A neutral line ("New secure message from Acme Bank"); the content is fetched over the API.
        case generic
        /// The title and body, for categories the business judges harmless on a lock screen.
        case full
    }

    public struct Push: Codable, Equatable, Sendable {
        /// Every category has an entry (`generic` unless set), so equal settings compare equal.
        public var content: [NotificationCategory: PushContent] = Dictionary(uniqueKeysWithValues: NotificationCategory.allCases.map { ($0, .generic) })

        public func content(for category: NotificationCategory) -> PushContent { content[category] ?? .generic }

        enum CodingKeys: String, CodingKey { case content }

        public init() {}

        public init(from decoder: any Decoder) throws {
            let raw = try decoder.container(keyedBy: CodingKeys.self).decode([String: PushContent].self, forKey: .content)
            for (key, value) in raw {
                if let category = NotificationCategory(rawValue: key) { content[category] = value }
            }
        }

        /// Every category, defaults included, so a reader sees the effective setting.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            let all = Dictionary(uniqueKeysWithValues: NotificationCategory.allCases.map { ($0.rawValue, content(for: $0)) })
            try container.encode(all, forKey: .content)
        }
    }

    public var linkPolicy = LinkPolicySettings()
    public var retention = Retention()
    public var push = Push()

    public init() {}

    /// The link policy these settings define.
    public var links: LinkPolicy { (try? LinkPolicy(allowedDomains: linkPolicy.allowedDomains)) ?? .denyAll }

    /// These settings with the `PUT /v1/settings` body merged in.
    /// - Throws: `HeraldError.invalid` naming every bad field; nothing is merged then.
    public func merging(body: Data) throws(HeraldError) -> AppSettings {
        var merged = self
        var reader = try ObjectReader(body: body)
        if let value = reader.value("linkPolicy") {
            var section = try ObjectReader(value, path: "linkPolicy.")
            if let domains = section.list("allowedDomains", count: 0...1_000, element: { ($0, .invalidValue) }) {
                for (index, domain) in domains.enumerated() where LinkPolicy.normalizedDomain(domain) == nil {
                    section.report("allowedDomains[\(index)]", .invalidValue, detail: "a domain name such as acme.example")
                }
                merged.linkPolicy.allowedDomains = Array(Set(domains.compactMap(LinkPolicy.normalizedDomain))).sorted()
            }
            reader.absorb(section)
        }
        if let value = reader.value("retention") {
            var section = try ObjectReader(value, path: "retention.")
            if section.isNull("messageDays") {
                merged.retention.messageDays = nil
            } else if let days = section.integer("messageDays", range: 1...36_500) {
                merged.retention.messageDays = Int(days)
            }
            reader.absorb(section)
        }
        if let value = reader.value("push") {
            var section = try ObjectReader(value, path: "push.")
            if let content = section.value("content") {
                var modes = try ObjectReader(content, path: "push.content.")
                for category in NotificationCategory.allCases {
                    guard let text = modes.string(category.rawValue) else { continue }
                    if let mode = PushContent(rawValue: text) {
                        merged.push.content[category] = mode
                    } else {
                        modes.report(category.rawValue, .invalidValue, detail: "generic or full")
                    }
                }
                reader.absorb(modes)
            }
            reader.absorb(section)
        }
        try reader.finish()
        return merged
    }
}
