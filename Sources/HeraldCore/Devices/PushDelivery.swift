public import Foundation

/// One push attempt to one device (`GET /v1/push/deliveries`), for support staff asking "did the
/// customer's phone get it?". Holds ids and the provider's answer, never content.
public struct PushDelivery: Codable, Equatable, Sendable {
    public enum Outcome: String, Codable, Sendable {
        /// The provider accepted the push.
        case accepted
        /// The provider said the token or subscription is dead; the device was removed.
        case unregistered
        /// A passing failure; the push is tried again.
        case retrying
        /// The last attempt failed, or retrying could not help (bad credentials, refused payload).
        case failed
        /// Not sent: the app has no credentials for this platform.
        case skipped
    }

    public enum Subject: String, Codable, Sendable {
        case inbox, message
    }

    public var userId: UserID
    public var deviceId: DeviceID
    public var platform: Device.Platform
    public var subject: Subject
    /// The inbox item's or the message's id.
    public var subjectId: String
    public var attempt: Int
    public var outcome: Outcome
    public var statusCode: Int?
    public var reason: String?
    public var at: Date

    public init(
        userId: UserID, deviceId: DeviceID, platform: Device.Platform, subject: Subject, subjectId: String, attempt: Int, outcome: Outcome,
        statusCode: Int?, reason: String?, at: Date
    ) {
        self.userId = userId
        self.deviceId = deviceId
        self.platform = platform
        self.subject = subject
        self.subjectId = subjectId
        self.attempt = attempt
        self.outcome = outcome
        self.statusCode = statusCode
        self.reason = reason
        self.at = at
    }
}
