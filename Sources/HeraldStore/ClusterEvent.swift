public import HeraldCore

/// What the nodes of a cluster announced, as this node's store hands it on: message changes they
/// committed (opened from the database, so content never travels in the announcement) and the
/// server's own signals from other nodes (typing, read positions, new inbox items: ids and positions,
/// no content).
public enum ClusterEvent: Sendable {
    /// Committed changes, in commit order, with the members as they are now; `fromThisNode` when this
    /// node committed them (every node hears every commit, its own too, so that all deliver in one order).
    case messages([CommittedMessage], fromThisNode: Bool)
    /// A signal another node published to some users of an app.
    case signal(app: AppID, users: [UserID], signal: ClusterSignal)
    /// An announcement this node cannot read (sent by a node of another version of Herald): skipped,
    /// and said so, since what it announced is not delivered live here.
    case unreadable(reason: String)
}
