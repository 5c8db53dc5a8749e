public import Foundation
public import HeraldCore

/// A per-app secret that signs user tokens (HS256). Stored sealed with the app's data key.
public struct TokenSigningKey: Sendable, Equatable {
    public var kid: String
    public var app: AppID
    public var secret: Data

    public init(kid: String, app: AppID, secret: Data) {
        self.kid = kid
        self.app = app
        self.secret = secret
    }
}
