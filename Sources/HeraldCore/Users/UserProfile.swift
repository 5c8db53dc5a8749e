public import Foundation

/// The body of `PUT /v1/users/{userId}`: a full replacement of the user's profile (absent fields are
/// cleared), which makes the call idempotent.
public struct UserProfile: Equatable, Sendable {
    public var name: String?
    public var locale: String?
    public var timezone: String?
    public var metadata: [String: JSONValue]

    public init(name: String? = nil, locale: String? = nil, timezone: String? = nil, metadata: [String: JSONValue] = [:]) {
        self.name = name
        self.locale = locale
        self.timezone = timezone
        self.metadata = metadata
    }

    public init(body: Data) throws(HeraldError) {
        var reader = try ObjectReader(body: body)
        name = reader.string("name", maxLength: Limits.nameCharacters)
        locale = reader.string("locale", maxLength: 35)
        if let locale, !Self.isLanguageTag(locale) { reader.report("locale", .invalidValue, detail: "a BCP 47 language tag such as en or pt-BR") }
        timezone = reader.string("timezone", maxLength: 64)
        if let timezone, TimeZone(identifier: timezone) == nil {
            reader.report("timezone", .invalidValue, detail: "an IANA time zone such as Europe/Paris")
        }
        metadata = reader.object("metadata", maxBytes: Limits.userMetadataBytes) ?? [:]
        try reader.finish()
    }

    static func isLanguageTag(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard let first = parts.first, (2...8).contains(first.count), first.allSatisfy({ $0.isASCII && $0.isLetter }) else { return false }
        return parts.dropFirst().allSatisfy { (1...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
    }
}
