public import Foundation

/// A conversation: `direct` between exactly two users (unique per pair), or a `group`.
public struct Channel: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable {
        case direct
        case group
    }

    public var id: ChannelID
    public var type: Kind
    public var name: String?
    public var members: [UserID]
    /// The seq of the newest message; 0 for an empty channel.
    public var lastSeq: Int64
    public var createdAt: Date

    public init(id: ChannelID, type: Kind, name: String?, members: [UserID], lastSeq: Int64, createdAt: Date) {
        self.id = id
        self.type = type
        self.name = name
        self.members = members
        self.lastSeq = lastSeq
        self.createdAt = createdAt
    }

    public func isMember(_ user: UserID) -> Bool { members.contains(user) }
}
