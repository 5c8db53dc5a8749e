public import Foundation

/// The body of `POST /v1/channels/{id}/members`: users to add to a group.
public struct MemberList: Equatable, Sendable {
    public var members: [UserID]

    public init(members: [UserID]) { self.members = members }

    public init(body: Data) throws(HeraldError) {
        var reader = try ObjectReader(body: body)
        let members = reader.list("members", required: true, count: 1...Limits.membersPerRequest, element: NewChannel.parseMember)
        if let members, Set(members).count != members.count { reader.report("members", .duplicate, detail: "each member once") }
        try reader.finish()
        self.members = members!
    }
}
