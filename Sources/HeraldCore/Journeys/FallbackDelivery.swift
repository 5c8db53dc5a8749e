public import Foundation

/// One attempt to reach a customer outside the app: never the text or the address, only what became of it.
public struct FallbackDelivery: Equatable, Sendable, Codable {
    public enum Outcome: String, Sendable, Codable, CaseIterable {
        /// The provider took it (Twilio answered 201, the SMTP server 250 after the data).
        case sent
        /// Not sent, and not to be: the item was read meanwhile.
        case notNeeded = "not_needed"
        /// The customer has no phone number or e-mail address on file, or the app no provider for the channel.
        case noAddress = "no_address"
        case notConfigured = "not_configured"
        /// A failure that will be tried again (a timeout, 429, 5xx, a 4xx SMTP reply).
        case retrying
        /// Given up: refused for good (4xx from the SMS gateway, a 5xx SMTP reply) or out of attempts.
        case failed
    }

    public var user: UserID
    public var item: InboxItemID
    public var channel: JourneyDefinition.FallbackChannel
    public var attempt: Int
    public var outcome: Outcome
    /// The provider's status (HTTP) or reply code (SMTP).
    public var statusCode: Int?
    /// The provider's short reason, never the text sent.
    public var reason: String?
    public var at: Date

    /// As `GET /v1/fallback/deliveries` names them.
    private enum CodingKeys: String, CodingKey {
        case user = "userId", item = "itemId", channel, attempt, outcome, statusCode, reason, at
    }

    public init(
        user: UserID, item: InboxItemID, channel: JourneyDefinition.FallbackChannel, attempt: Int, outcome: Outcome, statusCode: Int? = nil,
        reason: String? = nil, at: Date
    ) {
        self.user = user
        self.item = item
        self.channel = channel
        self.attempt = attempt
        self.outcome = outcome
        self.statusCode = statusCode
        self.reason = reason
        self.at = at
    }
}
