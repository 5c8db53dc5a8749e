public import Foundation
public import HeraldCore

/// An inbox item with what the client found of its sender.
public struct VerifiedItem: Sendable, Equatable {
    public var item: InboxItem
    public var verification: Verification
}

/// A page of the inbox, newest first.
public struct InboxListing: Sendable, Equatable {
    public var items: [VerifiedItem]
    /// Pass to the next ``HeraldClient/inbox(cursor:limit:category:state:)`` call; nil on the last page.
    public var nextCursor: String?
    /// Unread items in the whole inbox (for a badge).
    public var unreadCount: Int
}

/// What the server recorded for a performed action. A second attempt answers with the first result.
public struct ActionResult: Codable, Sendable, Equatable {
    public var status: String
    public var itemId: InboxItemID
    public var actionId: String
    public var input: JSONValue?
    public var performedAt: Date
}

/// The device that approves step-up actions: its registered id and its signer.
public struct StepUpDevice: Sendable {
    public var deviceID: DeviceID
    public var signer: any StepUpSigner

    public init(deviceID: DeviceID, signer: any StepUpSigner) {
        self.deviceID = deviceID
        self.signer = signer
    }
}

extension HeraldClient {
    /// A page of the inbox, each item verified against the pinned keys.
    public func inbox(cursor: String? = nil, limit: Int = 50, category: NotificationCategory? = nil, state: InboxQuery.State? = nil) async throws
        -> InboxListing
    {
        try await ensureVerifier()
        let page = try await transport.get(
            "/v1/me/inbox", query: [("cursor", cursor), ("limit", String(limit)), ("category", category?.rawValue), ("state", state?.rawValue)],
            as: InboxPage.self)
        return InboxListing(items: page.items.map { VerifiedItem(item: $0, verification: verify($0)) }, nextCursor: page.nextCursor, unreadCount: page.unreadCount)
    }

    /// One item, verified (also one that has expired: its actions then answer 410).
    public func item(_ id: InboxItemID) async throws -> VerifiedItem {
        try await ensureVerifier()
        let item = try await transport.get("/v1/me/inbox/\(id.rawValue)", as: InboxItem.self)
        return VerifiedItem(item: item, verification: verify(item))
    }

    /// Marks the item read (the first read time is kept); it then counts as read for the business.
    @discardableResult
    public func markRead(_ item: InboxItemID) async throws -> InboxItem {
        try await transport.post("/v1/me/inbox/\(item.rawValue)/read", as: InboxItem.self)
    }

    /// Moves the item out of the inbox's default view (`state: .archived` lists it).
    @discardableResult
    public func archive(_ item: InboxItemID) async throws -> InboxItem {
        try await transport.post("/v1/me/inbox/\(item.rawValue)/archive", as: InboxItem.self)
    }

    /// Unread items in the inbox, exact, for the app's badge.
    public func unreadCount() async throws -> Int {
        try await inbox(limit: 1).unreadCount
    }

    /// Performs one of the item's actions. A step-up action is approved on `device`: the client
    /// checks the item's signature first (it refuses to approve content it cannot verify), asks for
    /// a one-time challenge, and has the device sign item, action, challenge, the hash of the signed
    /// payload and the hash of the input (`herald-action-v2`), so neither what the customer approved
    /// nor their answer can be swapped. The device's key must have been activated by the business
    /// (else 403 with reason `step_up_key_not_active`).
    /// - Parameter input: `{"value": ...}` content for actions that ask for input (a choice, a rating, text).
    /// - Throws: ``HeraldClientError/unverified(_:)`` for an item that does not verify;
    ///   ``HeraldClientError/server(status:type:detail:fields:)`` with 403 for a refused proof, 410 for an expired item.
    public func perform(_ actionID: String, on item: InboxItem, input: JSONValue? = nil, stepUp device: StepUpDevice? = nil) async throws -> ActionResult {
        var body: [String: JSONValue] = [:]
        if let input { body["input"] = .object(["value": input]) }
        let needsStepUp = item.actions?.first { $0.id == actionID }?.stepUp ?? false
        if needsStepUp {
            try await ensureVerifier()
            if case .unverified(let reason) = verify(item) { throw HeraldClientError.unverified(reason) }
            guard let device, let payload = SignedPayload.payload(of: item.jws) else {
                throw HeraldClientError.unverified("a step-up action needs a registered device with a step-up key")
            }
            struct Challenge: Decodable { var challenge: String }
            let challenge = try await transport.post("/v1/me/inbox/\(item.id.rawValue)/actions/\(actionID)/challenge", as: Challenge.self).challenge
            let message = StepUpProof.message(
                item: item.id, action: actionID, challenge: challenge, payloadHash: SignedPayload.hash(of: payload), inputHash: StepUpProof.inputHash(of: body["input"]))
            let signature = try await device.signer.sign(message)
            body["deviceId"] = .string(device.deviceID.rawValue)
            body["challenge"] = .string(challenge)
            body["signature"] = .string(signature.base64URLEncodedString())
        }
        return try await transport.post("/v1/me/inbox/\(item.id.rawValue)/actions/\(actionID)", body: .object(body), as: ActionResult.self)
    }

    /// Fetches the key set once when none was pinned.
    func ensureVerifier() async throws {
        guard !hasVerifier else { return }
        let keys = try await transport.get("/v1/apps/\(configuration.appID.rawValue)/keys", as: JWKSet.self, authenticated: false)
        pin(keys)
    }
}
