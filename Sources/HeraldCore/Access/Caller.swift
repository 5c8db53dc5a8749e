/// Who is making a request, after authentication. Every request acts inside exactly one app.
public enum Caller: Sendable, Equatable, CustomStringConvertible {
    /// The business backend, with the app's API key.
    case platform(AppID)
    /// One customer, with a user token.
    case user(AppID, UserID)

    public var appID: AppID {
        switch self {
        case .platform(let app), .user(let app, _): app
        }
    }

    public var userID: UserID? {
        if case .user(_, let user) = self { return user }
        return nil
    }

    public var description: String {
        switch self {
        case .platform(let app): "platform(\(app))"
        case .user(let app, let user): "user(\(app), \(user))"
        }
    }
}
