public import Foundation

/// Everything Herald stores about one customer, as one document (`GET /v1/users/{userId}/export`,
/// GDPR Art. 15 and 20): the profile and preferences, their channels and read positions, the
/// messages they wrote, every inbox item addressed to them (archived and expired included, with the
/// action they took), their devices, consent changes and push attempts.
public struct UserExport: Codable, Equatable, Sendable {
    public struct Membership: Codable, Equatable, Sendable {
        public var channel: Channel
        public var lastReadSeq: Int64

        public init(channel: Channel, lastReadSeq: Int64) {
            self.channel = channel
            self.lastReadSeq = lastReadSeq
        }
    }

    public struct ConsentChange: Codable, Equatable, Sendable {
        public var consent: String
        public var granted: Bool
        public var at: Date

        public init(consent: String, granted: Bool, at: Date) {
            self.consent = consent
            self.granted = granted
            self.at = at
        }
    }

    public var exportedAt: Date
    public var appId: AppID
    public var user: User
    public var channels: [Membership]
    public var messages: [Message]
    public var inbox: [InboxItem]
    public var devices: [Device]
    public var consentChanges: [ConsentChange]
    public var pushDeliveries: [PushDelivery]

    public init(
        exportedAt: Date, appId: AppID, user: User, channels: [Membership], messages: [Message], inbox: [InboxItem], devices: [Device],
        consentChanges: [ConsentChange], pushDeliveries: [PushDelivery]
    ) {
        self.exportedAt = exportedAt
        self.appId = appId
        self.user = user
        self.channels = channels
        self.messages = messages
        self.inbox = inbox
        self.devices = devices
        self.consentChanges = consentChanges
        self.pushDeliveries = pushDeliveries
    }
}
