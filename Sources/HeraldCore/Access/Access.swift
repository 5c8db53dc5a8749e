/// Authorization rules, in one place and free of HTTP so that every route and the realtime gateway
/// apply the same ones. Tenant isolation is not decided here: stores only ever look inside the
/// caller's app, so another app's resources are simply not found.
public enum Access {
    /// Platform API only: a user token is authenticated but not allowed.
    public static func requirePlatform(_ caller: Caller) throws(HeraldError) -> AppID {
        guard case .platform(let app) = caller else { throw .forbidden(reason: "This endpoint needs the app's API key.") }
        return app
    }

    /// Client API only: the caller must be a user.
    public static func requireUser(_ caller: Caller) throws(HeraldError) -> (AppID, UserID) {
        guard case .user(let app, let user) = caller else { throw .forbidden(reason: "This endpoint needs a user token.") }
        return (app, user)
    }

    /// The platform reads every channel of its app; a user only channels they belong to.
    public static func checkCanRead(_ channel: Channel, by caller: Caller) throws(HeraldError) {
        if let member = memberRequired(toRead: caller), !channel.isMember(member) { throw notMember }
    }

    /// Who must be a member of a channel for `caller` to read it (`checkCanRead`'s rule, for a store that
    /// checks it in the read itself): the user; nobody for the platform.
    public static func memberRequired(toRead caller: Caller) -> UserID? {
        if case .user(_, let user) = caller { user } else { nil }
    }

    /// What a user who is not a member of the channel gets.
    public static let notMember = HeraldError.forbidden(reason: "Not a member of this channel.")

    /// Who a message posted by `caller` is sent as. A user always posts as themselves; the platform
    /// as the business (no sender) or as a member it names.
    public static func sender(for caller: Caller, requested: UserID?, in channel: Channel) throws(HeraldError) -> UserID? {
        switch caller {
        case .user(_, let user):
            guard channel.isMember(user) else { throw .forbidden(reason: "Not a member of this channel.") }
            return user
        case .platform:
            if let requested, !channel.isMember(requested) {
                throw .invalid(field: "sender", .notMember, detail: "the sender must be a member of the channel")
            }
            return requested
        }
    }

    /// The platform may edit or delete any message of its app (moderation); a user only their own.
    public static func checkCanModify(_ message: Message, in channel: Channel, by caller: Caller) throws(HeraldError) {
        guard case .user(_, let user) = caller else { return }
        guard channel.isMember(user) else { throw .forbidden(reason: "Not a member of this channel.") }
        guard message.sender == user else { throw .forbidden(reason: "Only the sender may change a message.") }
    }

    /// Members of groups are managed by the platform; a direct channel's pair never changes.
    public static func checkCanChangeMembers(of channel: Channel) throws(HeraldError) {
        guard channel.type == .group else {
            throw .conflict(detail: "The members of a direct channel cannot change.")
        }
    }
}
