/// A journey's name, chosen by the business: 1–64 characters of `[a-z0-9._-]`, starting with a letter
/// (`onboarding`, `fraud.follow-up`). Its versions share it.
public struct JourneyKey: Identifier {
    public let rawValue: String

    public init?(rawValue: String) {
        guard NameBytes.isLowercaseName(rawValue, maxBytes: 64, punctuation: ".-_") else { return nil }
        self.rawValue = rawValue
    }
}
