/// A button on an inbox item: approve or decline a payment, dispute a charge, answer a survey.
public struct NotificationAction: Codable, Equatable, Sendable {
    /// What the customer provides with the action, checked by the server.
    public enum Input: Codable, Equatable, Sendable {
        /// One of `options`.
        case choice(options: [String])
        /// A whole number from 1 to 5.
        case rating
        /// Free text up to `maxLength` characters (at most 1,000).
        case text(maxLength: Int)

        enum CodingKeys: String, CodingKey { case type, options, maxLength }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            switch try container.decode(String.self, forKey: .type) {
            case "choice": self = .choice(options: try container.decode([String].self, forKey: .options))
            case "rating": self = .rating
            default: self = .text(maxLength: try container.decodeIfPresent(Int.self, forKey: .maxLength) ?? Limits.actionTextCharacters)
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case .choice(let options):
                try container.encode("choice", forKey: .type)
                try container.encode(options, forKey: .options)
            case .rating:
                try container.encode("rating", forKey: .type)
            case .text(let maxLength):
                try container.encode("text", forKey: .type)
                try container.encode(maxLength, forKey: .maxLength)
            }
        }
    }

    public var id: String
    public var label: String
    /// Performing it needs a device-bound signature over the item, the action and the payload.
    public var stepUp: Bool
    public var input: Input?

    public init(id: String, label: String, stepUp: Bool = false, input: Input? = nil) {
        self.id = id
        self.label = label
        self.stepUp = stepUp
        self.input = input
    }

    /// Action ids: 1–32 characters of `[a-z0-9_-]`, starting with a letter or digit.
    public static func isValidID(_ text: String) -> Bool {
        (1...32).contains(text.utf8.count) && text.utf8.first.map { $0 != UInt8(ascii: "-") && $0 != UInt8(ascii: "_") } == true
            && text.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// Reads the `actions` array of a request (at most `Limits.actionsPerItem`), reporting into `reader`.
    public static func readList(_ key: String, from reader: inout ObjectReader) -> [NotificationAction]? {
        guard let value = reader.value(key) else { return nil }
        guard case .array(let items) = value else {
            reader.report(key, .wrongType, detail: "expected an array of actions")
            return nil
        }
        guard items.count <= Limits.actionsPerItem else {
            reader.report(key, .tooMany, detail: "at most \(Limits.actionsPerItem) actions")
            return nil
        }
        var actions: [NotificationAction] = []
        var seen: Set<String> = []
        for (index, item) in items.enumerated() {
            let path = "\(key)[\(index)]."
            guard var fields = try? ObjectReader(item, path: path) else {
                reader.report("\(key)[\(index)]", .wrongType, detail: "expected an object")
                continue
            }
            let id = fields.string("id", required: true)
            if let id, !isValidID(id) { fields.report("id", .invalidValue, detail: "1 to 32 characters of a-z, 0-9, _ and -") }
            if let id, !seen.insert(id).inserted { fields.report("id", .duplicate) }
            let label = fields.string("label", required: true, maxLength: Limits.actionLabelCharacters, minLength: 1)
            let stepUp = fields.bool("stepUp") ?? false
            let input = readInput(from: &fields)
            let isValid = fields.problems.isEmpty
            reader.absorb(fields)
            if isValid, let id, let label { actions.append(NotificationAction(id: id, label: label, stepUp: stepUp, input: input)) }
        }
        return actions
    }

    private static func readInput(from fields: inout ObjectReader) -> Input? {
        guard let value = fields.value("input") else { return nil }
        guard var input = try? ObjectReader(value, path: "") else {
            fields.report("input", .wrongType, detail: "expected an object")
            return nil
        }
        var result: Input?
        switch input.string("type", required: true) {
        case "choice"?:
            let options = input.list("options", required: true, count: 2...Limits.choiceOptions) { text in
                (1...Limits.actionLabelCharacters).contains(text.count) ? (text, .invalidValue) : (nil, .invalidValue)
            }
            if let options, Set(options).count != options.count { input.report("options", .duplicate) }
            if let options { result = .choice(options: options) }
        case "rating"?:
            result = .rating
        case "text"?:
            let maxLength = input.integer("maxLength", range: 1...Int64(Limits.actionTextCharacters)) ?? Int64(Limits.actionTextCharacters)
            result = .text(maxLength: Int(maxLength))
        case let other?:
            input.report("type", .invalidValue, detail: "choice, rating or text, not \(other)")
        case nil:
            break
        }
        try? input.finish()
        for problem in input.problems { fields.report("input." + problem.field, problem.reason, detail: problem.detail) }
        return input.problems.isEmpty ? result : nil
    }
}
