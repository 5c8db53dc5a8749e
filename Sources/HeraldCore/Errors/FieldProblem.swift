/// One invalid field of a request: `field` is a JSON path (`members[2]`, `data`), `reason` a stable
/// machine-readable code that clients may switch on.
public struct FieldProblem: Codable, Equatable, Sendable {
    public struct Reason: RawRepresentable, Codable, Hashable, Sendable, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }

        public static let required: Reason = "required"
        public static let wrongType: Reason = "wrong_type"
        public static let unknownField: Reason = "unknown_field"
        public static let tooLong: Reason = "too_long"
        public static let tooShort: Reason = "too_short"
        public static let tooLarge: Reason = "too_large"
        public static let tooMany: Reason = "too_many"
        public static let outOfRange: Reason = "out_of_range"
        public static let invalidIdentifier: Reason = "invalid_identifier"
        public static let invalidValue: Reason = "invalid_value"
        public static let unknownUser: Reason = "unknown_user"
        public static let duplicate: Reason = "duplicate"
        public static let notMember: Reason = "not_member"
        public static let linkNotAllowed: Reason = "link_not_allowed"
        public static let missingVariable: Reason = "missing_variable"
        public static let targetNotAllowed: Reason = "target_not_allowed"
        public static let stepUpKeyNotActive: Reason = "step_up_key_not_active"
        public static let stepUpKeyExists: Reason = "step_up_key_exists"
        public static let pushTokenInUse: Reason = "push_token_in_use"
    }

    public var field: String
    public var reason: Reason
    public var detail: String?

    public init(field: String, reason: Reason, detail: String? = nil) {
        self.field = field
        self.reason = reason
        self.detail = detail
    }
}
