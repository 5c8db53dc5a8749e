public import Foundation

/// The validated body of `POST /v1/channels`.
public struct NewChannel: Equatable, Sendable {
    public var type: Channel.Kind
    public var members: [UserID]
    public var name: String?

    public init(type: Channel.Kind, members: [UserID], name: String? = nil) {
        self.type = type
        self.members = members
        self.name = name
    }

    public init(body: Data) throws(HeraldError) {
        var reader = try ObjectReader(body: body)
        let typeText = reader.string("type", required: true)
        let kind = typeText.flatMap(Channel.Kind.init(rawValue:))
        if typeText != nil, kind == nil { reader.report("type", .invalidValue, detail: "direct or group") }
        let members = reader.list("members", required: true, count: 1...Limits.membersPerRequest, element: Self.parseMember)
        name = reader.string("name", maxLength: Limits.nameCharacters)
        if let members {
            if Set(members).count != members.count { reader.report("members", .duplicate, detail: "each member once") }
            if kind == .direct, members.count != 2 { reader.report("members", .invalidValue, detail: "a direct channel has exactly two members") }
        }
        if kind == .direct, name != nil { reader.report("name", .invalidValue, detail: "direct channels have no name") }
        try reader.finish()
        self.type = kind!
        self.members = members!
    }

    static func parseMember(_ text: String) -> (UserID?, FieldProblem.Reason) {
        (UserID(rawValue: text), .invalidIdentifier)
    }

    /// The key that makes a direct channel unique per pair of users, whatever their order.
    public var directKey: String? {
        guard type == .direct else { return nil }
        return members.map(\.rawValue).sorted().joined(separator: "\n")
    }
}
