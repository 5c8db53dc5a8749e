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
    /// A customer's way through one journey, as their export shows it.
    public struct JourneyEntry: Codable, Equatable, Sendable {
        public var journey: JourneyKey
        public var version: Int
        public var status: String
        public var enteredAt: Date
        public var endedAt: Date?

        public init(journey: JourneyKey, version: Int, status: String, enteredAt: Date, endedAt: Date?) {
            self.journey = journey
            self.version = version
            self.status = status
            self.enteredAt = enteredAt
            self.endedAt = endedAt
        }
    }

    /// What the journeys keep of the customer: the events recorded about them, the journeys they were
    /// in, and every attempt to reach them outside the app.
    public struct JourneyActivity: Codable, Equatable, Sendable {
        public var events: [CustomerEvent]
        public var journeys: [JourneyEntry]
        public var fallbackDeliveries: [FallbackDelivery]
        /// Entries of digests not sent yet: what a digest step collected about the customer.
        public var digestEntries: [DigestEntry]

        public init(events: [CustomerEvent] = [], journeys: [JourneyEntry] = [], fallbackDeliveries: [FallbackDelivery] = [], digestEntries: [DigestEntry] = []) {
            self.events = events
            self.journeys = journeys
            self.fallbackDeliveries = fallbackDeliveries
            self.digestEntries = digestEntries
        }
    }

    /// An entry of a digest not sent yet: the digest's template, the step that added it, when, and the
    /// variables it holds.
    public struct DigestEntry: Codable, Equatable, Sendable {
        public var template: TemplateKey
        public var step: String
        public var addedAt: Date
        public var variables: [String: JSONValue]

        public init(template: TemplateKey, step: String, addedAt: Date, variables: [String: JSONValue]) {
            self.template = template
            self.step = step
            self.addedAt = addedAt
            self.variables = variables
        }
    }

    public var consentChanges: [ConsentChange]
    public var pushDeliveries: [PushDelivery]
    public var journeyActivity: JourneyActivity

    public init(
        exportedAt: Date, appId: AppID, user: User, channels: [Membership], messages: [Message], inbox: [InboxItem], devices: [Device],
        consentChanges: [ConsentChange], pushDeliveries: [PushDelivery], journeyActivity: JourneyActivity = JourneyActivity()
    ) {
        self.journeyActivity = journeyActivity
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
