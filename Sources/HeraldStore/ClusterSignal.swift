public import HeraldCore

/// What a node publishes to live connections, as it travels to the other nodes of a cluster: ids and
/// positions only. Content (an inbox item's title and body) is never in it: the receiving node loads
/// the item from the store, where it is sealed. (The server gives each its meaning; the store carries it
/// through the cluster feed as a typed value.)
public enum ClusterSignal: Codable, Equatable, Sendable {
    case read(ReadPosition)
    case typing(channelID: ChannelID, userID: UserID)
    /// A new inbox item for the users it is sent to (one recipient).
    case inboxCreated(InboxItemID)
    /// Close the users' connections with 4401 (their tokens were revoked).
    case disconnect(reason: String)
    /// The users were erased: forget their data keys (a key cached by another node would otherwise seal
    /// the content of a user created again with the same id with the destroyed key) and close their
    /// connections with 4401.
    case erased

    /// The signal for a frame, or nil for frames that are not published this way.
    public init?(_ frame: ServerFrame) {
        switch frame {
        case .read(let position): self = .read(position)
        case .typing(let channel, let user): self = .typing(channelID: channel, userID: user)
        case .inboxCreated(let item): self = .inboxCreated(item.id)
        default: return nil
        }
    }
}
