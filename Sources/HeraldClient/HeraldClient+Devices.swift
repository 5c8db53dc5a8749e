public import Foundation
public import HeraldCore

/// What registering a device gave: its id and, with a step-up key, the key's state and thumbprint.
///
/// A key registered by the app is `pending`: it approves nothing until the business activates it
/// (`POST /v1/users/{userId}/devices/{deviceId}/step-up/activate`) after authenticating its customer
/// its own strong way. Show the thumbprint so the customer (or the bank's staff) can match it.
public struct RegisteredDevice: Decodable, Sendable, Equatable {
    public var deviceId: DeviceID
    public var stepUp: DeviceView.StepUp?
}

extension HeraldClient {
    /// Registers this installation for APNs or FCM pushes, with the step-up signer's public key
    /// when the device approves actions. The same token registered again updates the device; a device's
    /// key never changes (another key for it is refused: unregister the device first).
    public func registerDevice(platform: Device.Platform, token: String, stepUpSigner: (any StepUpSigner)? = nil) async throws -> RegisteredDevice {
        var body: [String: JSONValue] = ["platform": .string(platform.rawValue), "token": .string(token)]
        if let stepUpSigner { body["stepUpKey"] = try Self.jwk(stepUpSigner.publicKey) }
        return try await transport.post("/v1/me/devices", body: .object(body), as: RegisteredDevice.self)
    }

    /// The user's devices, as the server shows them (never their push tokens).
    public func devices() async throws -> [DeviceView] {
        struct List: Decodable { var devices: [DeviceView] }
        return try await transport.get("/v1/me/devices", as: List.self).devices
    }

    /// Registers a browser's Web Push subscription (made with the app's VAPID key, see ``vapidPublicKey()``).
    public func registerWebPush(_ subscription: Device.WebPushSubscription, stepUpSigner: (any StepUpSigner)? = nil) async throws -> RegisteredDevice {
        var body: [String: JSONValue] = [
            "platform": .string("webpush"),
            "subscription": .object([
                "endpoint": .string(subscription.endpoint),
                "keys": .object(["p256dh": .string(subscription.keys.p256dh), "auth": .string(subscription.keys.auth)]),
            ]),
        ]
        if let stepUpSigner { body["stepUpKey"] = try Self.jwk(stepUpSigner.publicKey) }
        return try await transport.post("/v1/me/devices", body: .object(body), as: RegisteredDevice.self)
    }

    /// Removes one of the user's devices: no more pushes, and its step-up key no longer approves.
    public func unregisterDevice(_ id: DeviceID) async throws {
        try await transport.delete("/v1/me/devices/\(id.rawValue)")
    }

    /// The app's VAPID public key, for the browser's `applicationServerKey`.
    public func vapidPublicKey() async throws -> String {
        struct Key: Decodable { var vapidPublicKey: String }
        return try await transport.get("/v1/apps/\(configuration.appID.rawValue)/webpush", as: Key.self, authenticated: false).vapidPublicKey
    }

    /// Fetches what a push pointed at: the inbox item, or the message (by the channel's history).
    public func fetch(_ target: PushTarget) async throws -> PushContent {
        switch target {
        case .inboxItem(let id):
            return .inboxItem(try await item(id))
        case .message(let channel, let id):
            let message = try await transport.get("/v1/channels/\(channel.rawValue)/messages/\(id.rawValue)", as: Message.self)
            try await ensureVerifier()
            return .message(VerifiedMessage(message: message, verification: verify(message)))
        }
    }

    static func jwk(_ key: StepUpKey) throws -> JSONValue {
        try JSONValue.parse(try JSONEncoder().encode(key))
    }
}

/// What a push pointed at, fetched over the authenticated API.
public enum PushContent: Sendable, Equatable {
    case inboxItem(VerifiedItem)
    case message(VerifiedMessage)
}

/// What a received push points at. Herald's pushes carry ids only (`type`, `appId`, `id`,
/// `channelId`); the content is fetched with ``HeraldClient/fetch(_:)``.
public enum PushTarget: Sendable, Equatable {
    case inboxItem(InboxItemID)
    case message(channel: ChannelID, id: MessageID)

    /// Reads the ids from a push's fields: APNs `userInfo["herald"]`, FCM `data`, or the decrypted
    /// Web Push JSON (pass its top-level object). Nil when the push is not Herald's.
    public init?(fields: [String: String]) {
        switch fields["type"] {
        case "inbox"?:
            guard let id = fields["id"].flatMap(InboxItemID.init(rawValue:)) else { return nil }
            self = .inboxItem(id)
        case "message"?:
            guard let id = fields["id"].flatMap(MessageID.init(rawValue:)), let channel = fields["channelId"].flatMap(ChannelID.init(rawValue:)) else { return nil }
            self = .message(channel: channel, id: id)
        default:
            return nil
        }
    }

    /// The same from an APNs `userInfo` dictionary or a decoded JSON payload.
    public init?(payload: [AnyHashable: Any]) {
        let source = (payload["herald"] as? [AnyHashable: Any]) ?? payload
        var fields: [String: String] = [:]
        for (key, value) in source {
            if let key = key as? String, let value = value as? String { fields[key] = value }
        }
        self.init(fields: fields)
    }

    /// The same from a Web Push payload's bytes (JSON).
    public init?(webPushPayload data: Data) {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        self.init(payload: object)
    }
}
