/// Which links the business may put in front of its customers (`linkPolicy.allowedDomains` in the
/// app's settings). Pure: used by the server to refuse a send and by clients to explain a refusal.
///
/// An allowed domain also allows its subdomains (`acme.example` allows `www.acme.example`, never
/// `acme.example.evil.example` nor `evilacme.example`). A link with hidden characters inside, or with a
/// scheme that has no host (`tel:`, `javascript:`), is never allowed. By default nothing is allowed.
public struct LinkPolicy: Equatable, Sendable {
    /// Normalized: ASCII (Punycode), lower case, no trailing dot.
    public private(set) var allowedDomains: [String]

    /// - Throws: `HeraldError.invalid` naming each entry that is not a domain name.
    public init(allowedDomains: [String]) throws(HeraldError) {
        var normalized: [String] = []
        var problems: [FieldProblem] = []
        for (index, entry) in allowedDomains.enumerated() {
            if let domain = Self.normalizedDomain(entry) {
                normalized.append(domain)
            } else {
                problems.append(FieldProblem(field: "linkPolicy.allowedDomains[\(index)]", reason: .invalidValue, detail: "a domain name such as acme.example"))
            }
        }
        if !problems.isEmpty { throw .invalid(problems) }
        self.allowedDomains = normalized
    }

    public static let denyAll = try! LinkPolicy(allowedDomains: [])

    /// Every link in `text`, allowed or not.
    public static func links(in text: String) -> [DetectedLink] {
        LinkDetector.links(in: text)
    }

    /// The links in `text` that this policy refuses, in order of appearance.
    public func refusedLinks(in text: String) -> [DetectedLink] {
        LinkDetector.links(in: text).filter { !isAllowed($0) }
    }

    public func isAllowed(_ link: DetectedLink) -> Bool {
        guard !link.hasHiddenCharacters, let host = link.host else { return false }
        return allowedDomains.contains { host == $0 || host.hasSuffix("." + $0) }
    }

    /// Checks each named text and returns one `link_not_allowed` problem per field that holds a refused link.
    public func problems(in fields: [(field: String, text: String)]) -> [FieldProblem] {
        fields.compactMap { field, text in
            let refused = refusedLinks(in: text)
            guard !refused.isEmpty else { return nil }
            let list = refused.prefix(3).map { $0.hasHiddenCharacters ? "\($0.text) (hidden characters)" : $0.text }.joined(separator: ", ")
            return FieldProblem(field: field, reason: .linkNotAllowed, detail: "links to domains not in linkPolicy.allowedDomains: \(list)")
        }
    }

    /// Throws `invalid` with a `link_not_allowed` problem per field that holds a refused link.
    public func check(_ fields: [(field: String, text: String)]) throws(HeraldError) {
        let problems = problems(in: fields)
        if !problems.isEmpty { throw .invalid(problems) }
    }

    /// The texts a customer sees on actions (labels and choice options), named as request fields, to be
    /// checked like a title or body: a button reading `Call evil.example` is as much a lure.
    public static func fields(of actions: [NotificationAction]?, path: String = "actions") -> [(field: String, text: String)] {
        var fields: [(field: String, text: String)] = []
        for (index, action) in (actions ?? []).enumerated() {
            fields.append(("\(path)[\(index)].label", action.label))
            if case .choice(let options) = action.input {
                for (option, text) in options.enumerated() { fields.append(("\(path)[\(index)].input.options[\(option)]", text)) }
            }
        }
        return fields
    }

    /// The string leaves of `data`, named by their path: the app may show any of them, so each is
    /// checked like a title or body.
    public static func fields(of data: [String: JSONValue]?, path: String = "data") -> [(field: String, text: String)] {
        var fields: [(field: String, text: String)] = []
        func visit(_ value: JSONValue, _ path: String) {
            switch value {
            case .string(let text): fields.append((path, text))
            case .array(let items): for (index, item) in items.enumerated() { visit(item, "\(path)[\(index)]") }
            case .object(let members): for key in members.keys.sorted() { visit(members[key]!, "\(path).\(key)") }
            case .null, .bool, .number: break
            }
        }
        if let data { visit(.object(data), path) }
        return fields
    }

    /// An allow-list entry in normalized form, or nil when it is not a plain domain name.
    public static func normalizedDomain(_ entry: String) -> String? {
        let trimmed = entry.hasSuffix(".") ? String(entry.dropLast()) : entry
        guard !trimmed.isEmpty, trimmed.count <= 253, !trimmed.contains(where: { "/:@?#* ".contains($0) }) else { return nil }
        let links = LinkDetector.links(in: trimmed)
        guard links.count == 1, let link = links.first, !link.hasHiddenCharacters, link.text == trimmed, let host = link.host,
            !host.hasPrefix("[")
        else { return nil }
        return host
    }
}
