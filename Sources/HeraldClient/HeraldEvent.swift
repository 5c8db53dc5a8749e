public import HeraldCore

/// What the client tells the app, in order, through ``HeraldClient/events``.
///
/// Messages of a channel arrive exactly once each and in `seq` order, across reconnects and
/// restarts (with a persistent ``CursorStore``): the client resumes from the last seq it delivered.
public enum HeraldEvent: Sendable, Equatable {
    case messageCreated(Message, Verification)
    case messageUpdated(Message, Verification)
    case messageDeleted(Message)
    case typing(channel: ChannelID, user: UserID)
    case read(ReadPosition)
    case inboxItemCreated(InboxItem, Verification)
    case connectionStateChanged(ConnectionState)
}

/// Whether content comes verifiably from the business.
///
/// Show content as genuine only when it is `.verified`. An item or business message that fails
/// verification is `.unverified`: the app should show it as such (or not at all), never as genuine.
public enum Verification: Sendable, Equatable {
    /// The `jws` verifies with a pinned key and signs exactly the fields shown.
    case verified
    /// No signature, a signature that does not verify, an unknown key, or fields that differ from
    /// what was signed. The reason is for logs and support, not for customers.
    case unverified(reason: String)
    /// A message written by a user, which the business does not sign.
    case fromUser
}

/// The realtime connection, as ``HeraldEvent/connectionStateChanged(_:)`` reports it.
public enum ConnectionState: Sendable, Equatable {
    case disconnected
    case connecting
    /// Authenticated; the client resumed its channels and sent its outbox.
    case connected
    /// Lost; the next attempt is after a backoff (`attempt` counts from 1).
    case waitingToReconnect(attempt: Int)
}
