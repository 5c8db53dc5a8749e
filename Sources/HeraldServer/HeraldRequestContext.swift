public import Foundation
public import HeraldCore
public import Hummingbird

/// The per-request context of every route and of the realtime upgrade.
public struct HeraldRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set on the context of a WebSocket upgrade request only: where `/v1/realtime` accepts it.
    var realtimeUpgrade: RealtimeUpgradeSlot?
    /// Set by `AuthenticationMiddleware` when the request carries valid credentials.
    public var caller: Caller?
    /// The public id of the API key a platform caller used (never its secret), for the audit trail.
    public var apiKeyID: String?
    /// When the caller's user token expires (nil for API keys).
    public var credentialExpiry: Date?
    /// The request's `Origin` (browsers send one), kept for the realtime upgrade's origin check.
    public var origin: String?
    /// The TCP peer's IP address.
    public let peerAddress: String?
    /// The client, for limits on failed authentication: the peer, or what the operator's proxy says
    /// (set by `AuthenticationMiddleware`).
    public var clientAddress: ClientAddress = .unknown
    /// What inner middleware learns that the request log line reports (each middleware has its own copy
    /// of the context; this one reference is shared by all of them).
    let notes = RequestNotes()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerAddress = source.channel.remoteAddress?.ipAddress
    }

    /// Bodies beyond the documented limit are refused with 413 before they are read.
    public var maxUploadSize: Int { Limits.requestBodyBytes }

    /// The authenticated caller; a request without credentials is 401.
    public func requireCaller() throws(HeraldError) -> Caller {
        guard let caller else { throw .unauthenticated(.missing) }
        return caller
    }
}
