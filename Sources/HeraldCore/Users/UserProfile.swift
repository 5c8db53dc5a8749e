public import Foundation

/// The body of `PUT /v1/users/{userId}`: a full replacement of the user's profile (absent fields are
/// cleared), which makes the call idempotent.
public struct UserProfile: Equatable, Sendable {
    public var name: String?
    public var locale: String?
    public var timezone: String?
    public var metadata: [String: JSONValue]
    /// Where a journey's fallback reaches the customer outside the app (E.164), and by e-mail. Sealed
    /// at rest with the rest of the profile.
    public var phone: PhoneNumber?
    public var email: EmailAddress?

    public init(
        name: String? = nil, locale: String? = nil, timezone: String? = nil, metadata: [String: JSONValue] = [:], phone: PhoneNumber? = nil,
        email: EmailAddress? = nil
    ) {
        self.name = name
        self.locale = locale
        self.timezone = timezone
        self.metadata = metadata
        self.phone = phone
        self.email = email
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
        let phoneText = reader.string("phone", maxLength: 16)
        phone = phoneText.flatMap(PhoneNumber.init)
        if phoneText != nil, phone == nil { reader.report("phone", .invalidValue, detail: "an E.164 number such as +4915112345678") }
        let emailText = reader.string("email", maxLength: 254)
        email = emailText.flatMap(EmailAddress.init)
        if emailText != nil, email == nil { reader.report("email", .invalidValue, detail: "an address such as ana@example.com") }
        try reader.finish()
    }

    static func isLanguageTag(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard let first = parts.first, (2...8).contains(first.count), first.allSatisfy({ $0.isASCII && $0.isLetter }) else { return false }
        return parts.dropFirst().allSatisfy { (1...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
    }
}
