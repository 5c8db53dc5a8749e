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

    /// Browsers' realtime connections: the `Origin`s (`https://app.acme-bank.example`) whose pages may
    /// open the WebSocket. A connection that sends an `Origin` (every browser does) from elsewhere is
    /// refused; clients without one (native apps, servers) are not affected. Empty: no browser may connect.
    public struct Realtime: Codable, Equatable, Sendable {
        public var allowedOrigins: [String] = []

        /// `scheme://host[:port]` in lower case, without a default port; nil when `text` is not an
        /// http(s) origin (no path, query, user info).
        public static func normalizedOrigin(_ text: String) -> String? {
            guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), ["https", "http"].contains(scheme),
                let host = components.host?.lowercased(), !host.isEmpty, components.user == nil, components.password == nil,
                components.path.isEmpty || components.path == "/", components.query == nil, components.fragment == nil
            else { return nil }
            let isDefault = (scheme == "https" && components.port == 443) || (scheme == "http" && components.port == 80)
            return "\(scheme)://\(host)" + (components.port.map { isDefault ? "" : ":\($0)" } ?? "")
        }

        /// Whether a connection with this `Origin` header may open the WebSocket. Only web origins
        /// (`http(s)://…`, and `null`, which browsers send for opaque pages) are a browser's and are
        /// checked; WebSocket libraries outside browsers send their own (`ws://host`), which is ignored.
        public func allows(originHeader: String) -> Bool {
            Self.browserOrigins(in: originHeader).allSatisfy { value in Self.normalizedOrigin(value).map(allowedOrigins.contains) ?? false }
        }

        /// The values of an `Origin` header that `allows(originHeader:)` checks: a browser's; empty
        /// for a client outside a browser, which any app's settings allow.
        public static func browserOrigins(in originHeader: String) -> [String] {
            originHeader.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { value in
                let lowered = value.lowercased()
                return lowered == "null" || lowered.hasPrefix("http://") || lowered.hasPrefix("https://")
            }
        }
    }

    /// Journeys' frequency caps: at most `count` items of a category in a customer's inbox within `seconds`;
    /// a journey's send beyond it is skipped (`capped`). Security is never capped.
    public struct Journeys: Codable, Equatable, Sendable {
        public struct Cap: Codable, Equatable, Sendable {
            public var count: Int
            /// The window as written (`"7d"`), checked by `JourneyDefinition.parseDuration` when stored.
            public var per: String

            public init(count: Int, per: String) {
                self.count = count
                self.per = per
            }

            public var seconds: Int64 { JourneyDefinition.parseDuration(per) ?? 0 }
        }

        public var caps: [NotificationCategory: Cap] = [:]

        enum CodingKeys: String, CodingKey { case caps }

        public init() {}

        public init(from decoder: any Decoder) throws {
            let raw = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent([String: Cap].self, forKey: .caps) ?? [:]
            for (key, value) in raw {
                if let category = NotificationCategory(rawValue: key) { caps[category] = value }
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(Dictionary(uniqueKeysWithValues: caps.map { ($0.key.rawValue, $0.value) }), forKey: .caps)
        }
    }

    /// The fallback outside the app for items of a category left unread (`fallback` in the settings):
    /// an SMS or e-mail, with the item's reference and nothing else (`FallbackMessage`), when an item of
    /// the category is still unread `unreadAfter` its arrival. Marketing has none. At most one policy per
    /// channel and category.
    public struct Fallback: Codable, Equatable, Sendable {
        public struct Policy: Codable, Equatable, Sendable {
            /// As written (`"10m"`), checked by `JourneyDefinition.parseDuration` when stored.
            public var unreadAfter: String
            public var channel: JourneyDefinition.FallbackChannel
            public var text: String
            public var subject: String?

            public var seconds: Int64 { JourneyDefinition.parseDuration(unreadAfter) ?? 0 }

            /// The message, checked again as it is used; nil for a stored one that no longer passes
            /// (then nothing is sent).
            public var message: FallbackMessage? {
                var object: [String: JSONValue] = ["channel": .string(channel.rawValue), "text": .string(text)]
                if let subject { object["subject"] = .string(subject) }
                guard var reader = try? ObjectReader(.object(object)) else { return nil }
                return FallbackMessage.read(&reader)
            }
        }

        public var policies: [NotificationCategory: [Policy]] = [:]

        public init() {}

        /// The policy of `category` for `channel`.
        public func policy(for category: NotificationCategory, channel: JourneyDefinition.FallbackChannel) -> Policy? {
            policies[category]?.first { $0.channel == channel }
        }

        public init(from decoder: any Decoder) throws {
            let raw = try decoder.singleValueContainer().decode([String: [Policy]].self)
            for (key, value) in raw {
                if let category = NotificationCategory(rawValue: key) { policies[category] = value }
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(Dictionary(uniqueKeysWithValues: policies.map { ($0.key.rawValue, $0.value) }))
        }
    }

    public var linkPolicy = LinkPolicySettings()
    public var realtime = Realtime()
    public var retention = Retention()
    public var push = Push()
    public var journeys = Journeys()
    public var fallback = Fallback()

    public init() {}

    enum CodingKeys: String, CodingKey { case linkPolicy, realtime, retention, push, journeys, fallback }

    /// Sections missing from stored settings (written before they existed) take their defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        linkPolicy = try container.decodeIfPresent(LinkPolicySettings.self, forKey: .linkPolicy) ?? LinkPolicySettings()
        realtime = try container.decodeIfPresent(Realtime.self, forKey: .realtime) ?? Realtime()
        retention = try container.decodeIfPresent(Retention.self, forKey: .retention) ?? Retention()
        push = try container.decodeIfPresent(Push.self, forKey: .push) ?? Push()
        journeys = try container.decodeIfPresent(Journeys.self, forKey: .journeys) ?? Journeys()
        fallback = try container.decodeIfPresent(Fallback.self, forKey: .fallback) ?? Fallback()
    }

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
        if let value = reader.value("realtime") {
            var section = try ObjectReader(value, path: "realtime.")
            if let origins = section.list("allowedOrigins", count: 0...100, element: { ($0, .invalidValue) }) {
                for (index, origin) in origins.enumerated() where Realtime.normalizedOrigin(origin) == nil {
                    section.report("allowedOrigins[\(index)]", .invalidValue, detail: "an origin such as https://app.acme.example")
                }
                merged.realtime.allowedOrigins = Array(Set(origins.compactMap(Realtime.normalizedOrigin))).sorted()
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
        if let value = reader.value("journeys") {
            var section = try ObjectReader(value, path: "journeys.")
            if let caps = section.value("caps") {
                var byCategory = try ObjectReader(caps, path: "journeys.caps.")
                for category in NotificationCategory.allCases {
                    guard category != .security else {
                        if byCategory.isNull("security") || byCategory.value("security") != nil {
                            byCategory.report("security", .invalidValue, detail: "security is never capped")
                        }
                        continue
                    }
                    if byCategory.isNull(category.rawValue) {
                        merged.journeys.caps[category] = nil
                        continue
                    }
                    guard let capValue = byCategory.value(category.rawValue) else { continue }
                    var cap = try ObjectReader(capValue, path: "journeys.caps.\(category.rawValue).")
                    let count = cap.integer("count", required: true, range: 1...1_000)
                    let per = cap.string("per", required: true)
                    if let per, JourneyDefinition.parseDuration(per) == nil { cap.report("per", .invalidValue, detail: "a duration from 1s to 90d, such as 7d") }
                    if let count, let per, JourneyDefinition.parseDuration(per) != nil { merged.journeys.caps[category] = Journeys.Cap(count: Int(count), per: per) }
                    byCategory.absorb(cap)
                }
                section.absorb(byCategory)
            }
            reader.absorb(section)
        }
        if let value = reader.value("fallback") {
            var byCategory = try ObjectReader(value, path: "fallback.")
            for category in NotificationCategory.allCases {
                if byCategory.isNull(category.rawValue) {
                    merged.fallback.policies[category] = nil
                    continue
                }
                guard let listValue = byCategory.value(category.rawValue) else { continue }
                guard category != .marketing else {
                    byCategory.report(category.rawValue, .invalidValue, detail: "marketing has no fallback")
                    continue
                }
                guard case .array(let items) = listValue, items.count <= JourneyDefinition.FallbackChannel.allCases.count else {
                    byCategory.report(category.rawValue, .wrongType, detail: "a list of at most one policy per channel")
                    continue
                }
                var policies: [Fallback.Policy] = []
                var isValid = true
                for (index, item) in items.enumerated() {
                    var policy = try ObjectReader(item, path: "fallback.\(category.rawValue)[\(index)].")
                    let after = policy.string("unreadAfter", required: true)
                    if let after, JourneyDefinition.parseDuration(after) == nil {
                        policy.report("unreadAfter", .invalidValue, detail: "a duration from 1s to 90d, such as 10m")
                    }
                    let message = FallbackMessage.read(&policy)
                    if let message, policies.contains(where: { $0.channel == message.channel }) {
                        policy.report("channel", .invalidValue, detail: "one policy per channel")
                    }
                    if let after, JourneyDefinition.parseDuration(after) != nil, let message, !policies.contains(where: { $0.channel == message.channel }) {
                        policies.append(
                            Fallback.Policy(unreadAfter: after, channel: message.channel, text: message.text.template, subject: message.subject?.template))
                    } else {
                        isValid = false
                    }
                    byCategory.absorb(policy)
                }
                if isValid { merged.fallback.policies[category] = policies.isEmpty ? nil : policies }
            }
            reader.absorb(byCategory)
        }
        try reader.finish()
        return merged
    }
}
