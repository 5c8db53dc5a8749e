public import HeraldCore

/// A message change that has been committed, with the members it concerns, handed to the store's
/// observer in commit order (seq order within each channel) so that realtime delivery is ordered.
public struct CommittedMessage: Sendable {
    public enum Change: String, Codable, Sendable {
        case created = "c"
        case updated = "u"
        case deleted = "d"
    }

    public var app: AppID
    public var change: Change
    public var message: Message
    public var members: [UserID]
    /// A created message whose push row was written: the hub settles it once live delivery is done
    /// (`settleMessagePushes`). False when no member but the sender has a device: nothing to settle.
    public var hasPushRow: Bool

    public init(app: AppID, change: Change, message: Message, members: [UserID], hasPushRow: Bool) {
        self.app = app
        self.change = change
        self.message = message
        self.members = members
        self.hasPushRow = hasPushRow
    }
}

/// Called synchronously after each commit, before any writer is resumed, in commit order. It must
/// not block: it hands work to queues (the realtime hub) and returns.
public typealias CommitObserver = @Sendable ([CommittedMessage]) -> Void
