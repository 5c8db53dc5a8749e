import Foundation
import HeraldCore

/// One announcement on the cluster feed (a NOTIFY payload on the channel `herald`), typed.
///
/// The JSON layout is the feed's wire format between nodes, kept as it was first written so that nodes
/// of neighbouring versions hear each other during a rolling upgrade: one-letter keys (`n` node, `k`
/// kind, `m` changes, `b` batch, `o` offset, `a` app, `u` users, `p` the signal as JSON text), which
/// also keep a batch of changes well under PostgreSQL's 8,000-byte payload limit. Nothing else reads
/// or writes that layout: an announcement that does not decode into this type is unreadable, never
/// guessed at.
enum ClusterAnnouncement: Equatable {
    /// Message changes a node committed, in commit order: `offset` is the place of the first of them
    /// in the node's batch `batch` (a long batch is split into several announcements).
    case messages(node: String, batch: String, offset: Int, changes: [Change])
    /// A signal for some users of an app.
    case signal(node: String, app: AppID, users: [UserID], signal: ClusterSignal)

    struct Change: Codable, Equatable {
        var app: AppID
        var channel: ChannelID
        var message: MessageID
        var kind: CommittedMessage.Change

        enum CodingKeys: String, CodingKey {
            case app = "a", channel = "c", message = "i", kind = "x"
        }
    }

    /// The node that sent it.
    var node: String {
        switch self {
        case .messages(let node, _, _, _), .signal(let node, _, _, _): node
        }
    }

    /// Changes per announcement: each is at most ~140 bytes of ids, so 40 stay under the payload limit
    /// (pinned by a test with the longest ids).
    static let changesPerAnnouncement = 40
}

extension ClusterAnnouncement: Codable {
    private enum CodingKeys: String, CodingKey {
        case node = "n", kind = "k", changes = "m", batch = "b", offset = "o", app = "a", users = "u", payload = "p"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let node = try container.decode(String.self, forKey: .node)
        switch try container.decode(String.self, forKey: .kind) {
        case "m":
            self = .messages(
                node: node, batch: try container.decode(String.self, forKey: .batch), offset: try container.decode(Int.self, forKey: .offset),
                changes: try container.decode([Change].self, forKey: .changes))
        case "s":
            let payload = try container.decode(String.self, forKey: .payload)
            self = .signal(
                node: node, app: try container.decode(AppID.self, forKey: .app), users: try container.decode([UserID].self, forKey: .users),
                signal: try JSONDecoder().decode(ClusterSignal.self, from: Data(payload.utf8)))
        case let kind:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "unknown announcement kind \(kind)")
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(node, forKey: .node)
        switch self {
        case .messages(_, let batch, let offset, let changes):
            try container.encode("m", forKey: .kind)
            try container.encode(changes, forKey: .changes)
            try container.encode(batch, forKey: .batch)
            try container.encode(offset, forKey: .offset)
        case .signal(_, let app, let users, let signal):
            try container.encode("s", forKey: .kind)
            try container.encode(app, forKey: .app)
            try container.encode(users, forKey: .users)
            try container.encode(String(decoding: try JSONEncoder().encode(signal), as: UTF8.self), forKey: .payload)
        }
    }
}
