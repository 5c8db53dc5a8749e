public import Foundation

/// An app installation of a customer: where pushes go, and the device-bound key that signs step-up
/// approvals. A user has several; a push token belongs to one user at a time.
///
/// A step-up key registered with a user token is `pending`: whoever holds a stolen token could have
/// registered it, so it approves nothing until the business, after its own strong authentication of the
/// customer, activates it through the Platform API. A device's key never changes once set.
///
/// This is the stored device; what the API shows is `DeviceView` (never the push token or endpoint).
public struct Device: Codable, Equatable, Sendable {
    public enum Platform: String, Codable, Sendable {
        case apns, fcm, webpush
    }

    public enum StepUpState: String, Codable, Sendable {
        /// Registered by the customer's app; approves nothing yet.
        case pending
        /// Activated by the business; approves step-up actions.
        case active
    }

    /// A browser's push subscription (RFC 8030 endpoint, RFC 8291 keys).
    public struct WebPushSubscription: Codable, Equatable, Sendable {
        public struct Keys: Codable, Equatable, Sendable {
            public var p256dh: String
            public var auth: String

            public init(p256dh: String, auth: String) {
                self.p256dh = p256dh
                self.auth = auth
            }
        }

        public var endpoint: String
        public var keys: Keys
        /// When the push service drops the subscription (milliseconds since 1970, as browsers give it in
        /// `PushSubscription.toJSON()`); nil (browsers send `null`) when it does not expire.
        public var expirationTime: Int64?

        public init(endpoint: String, keys: Keys, expirationTime: Int64? = nil) {
            self.endpoint = endpoint
            self.keys = keys
            self.expirationTime = expirationTime
        }

        /// Whether the push service has dropped the subscription by `now`.
        public func hasExpired(at now: Date) -> Bool {
            expirationTime.map { $0 <= WireTime.milliseconds(now) } ?? false
        }
    }

    public var id: DeviceID
    public var platform: Platform
    /// APNs or FCM token; for Web Push the subscription's endpoint.
    public var token: String
    public var subscription: WebPushSubscription?
    /// The P-256 public key of the device's step-up signer, as a JWK.
    public var stepUpKey: StepUpKey?
    /// Set exactly when `stepUpKey` is.
    public var stepUpState: StepUpState?
    public var stepUpActivatedAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: DeviceID, platform: Platform, token: String, subscription: WebPushSubscription?, stepUpKey: StepUpKey?, stepUpState: StepUpState? = nil,
        stepUpActivatedAt: Date? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.platform = platform
        self.token = token
        self.subscription = subscription
        self.stepUpKey = stepUpKey
        self.stepUpState = stepUpKey == nil ? nil : (stepUpState ?? .pending)
        self.stepUpActivatedAt = stepUpActivatedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The key that may approve step-up actions now: only an active one.
    public var activeStepUpKey: StepUpKey? { stepUpState == .active ? stepUpKey : nil }
}

/// A device as the API shows it (`GET /v1/me/devices`, `GET /v1/users/{userId}/devices`): never the push
/// token or the Web Push endpoint, which would let a token holder re-register (and so take over) the
/// device; at most their last four characters, to tell devices apart.
public struct DeviceView: Codable, Equatable, Sendable {
    public struct StepUp: Codable, Equatable, Sendable {
        public var state: Device.StepUpState
        /// RFC 7638 thumbprint of the key (base64url).
        public var thumbprint: String
        public var activatedAt: Date?
    }

    public var deviceId: DeviceID
    public var platform: Device.Platform
    public var tokenHint: String
    public var stepUp: StepUp?
    public var createdAt: Date
    public var updatedAt: Date

    public init(_ device: Device) {
        deviceId = device.id
        platform = device.platform
        tokenHint = String(device.token.suffix(4))
        stepUp = device.stepUpKey.map { StepUp(state: device.stepUpState ?? .pending, thumbprint: $0.thumbprint, activatedAt: device.stepUpActivatedAt) }
        createdAt = device.createdAt
        updatedAt = device.updatedAt
    }
}

/// The body of `POST /v1/me/devices`.
public struct NewDevice: Equatable, Sendable {
    public var platform: Device.Platform
    public var token: String
    public var subscription: Device.WebPushSubscription?
    public var stepUpKey: StepUpKey?

    public init(platform: Device.Platform, token: String, subscription: Device.WebPushSubscription? = nil, stepUpKey: StepUpKey? = nil) {
        self.platform = platform
        self.token = token
        self.subscription = subscription
        self.stepUpKey = stepUpKey
    }

    /// - Parameter allowsPrivateTargets: whether a Web Push endpoint may be a loopback or private
    ///   address (and plain http there), as `--allow-private-targets` says.
    public init(body: Data, allowsPrivateTargets: Bool = false) throws(HeraldError) {
        var reader = try ObjectReader(body: body)
        let platformText = reader.string("platform", required: true)
        let platform = platformText.flatMap(Device.Platform.init(rawValue:))
        if platformText != nil, platform == nil { reader.report("platform", .invalidValue, detail: "apns, fcm or webpush") }
        let token = reader.string("token", maxLength: 4_096, minLength: 1)
        var subscription: Device.WebPushSubscription?
        if let value = reader.value("subscription") {
            subscription = Self.readSubscription(value, into: &reader, allowsPrivateTargets: allowsPrivateTargets)
        }
        let stepUpKey = reader.value("stepUpKey").flatMap { value -> StepUpKey? in
            guard let key = StepUpKey(jwk: value) else {
                reader.report("stepUpKey", .invalidValue, detail: "a P-256 public key as a JWK (kty EC, crv P-256, x, y)")
                return nil
            }
            return key
        }
        switch platform {
        case .apns?, .fcm?:
            if token == nil, !reader.problems.contains(where: { $0.field == "token" }) { reader.report("token", .required) }
            if subscription != nil { reader.report("subscription", .invalidValue, detail: "only for webpush") }
            if platform == .apns, let token, !(token.count >= 64 && token.allSatisfy(\.isHexDigit)) {
                reader.report("token", .invalidValue, detail: "an APNs device token in hexadecimal")
            }
        case .webpush?:
            if token != nil { reader.report("token", .invalidValue, detail: "webpush takes a subscription") }
            if subscription == nil, !reader.problems.contains(where: { $0.field.hasPrefix("subscription") }) { reader.report("subscription", .required) }
        case nil:
            break
        }
        try reader.finish()
        self.init(platform: platform!, token: subscription?.endpoint ?? token!, subscription: subscription, stepUpKey: stepUpKey)
    }

    private static func readSubscription(_ value: JSONValue, into reader: inout ObjectReader, allowsPrivateTargets: Bool) -> Device.WebPushSubscription? {
        guard var fields = try? ObjectReader(value, path: "subscription.") else {
            reader.report("subscription", .wrongType, detail: "expected an object")
            return nil
        }
        let endpoint = fields.string("endpoint", required: true, maxLength: 2_048)
        if let endpoint {
            let url = URLComponents(string: endpoint)
            let scheme = url?.scheme?.lowercased()
            if let host = url?.host, !host.isEmpty, scheme == "https" || (scheme == "http" && allowsPrivateTargets) {
                if !allowsPrivateTargets, TargetPolicy.isPrivateLiteral(host) {
                    fields.report("endpoint", .targetNotAllowed, detail: "loopback, private and link-local addresses need --allow-private-targets")
                }
            } else {
                fields.report("endpoint", .invalidValue, detail: "an https URL")
            }
        }
        // What browsers put in `toJSON()`: null, or when the push service drops the subscription.
        let expirationTime = fields.integer("expirationTime", range: 0...(1 << 53))
        var keys: Device.WebPushSubscription.Keys?
        if let value = fields.value("keys"), var keyFields = try? ObjectReader(value, path: "subscription.keys.") {
            let p256dh = keyFields.string("p256dh", required: true, maxLength: 200)
            let auth = keyFields.string("auth", required: true, maxLength: 100)
            if let p256dh, Data(base64URLEncoded: p256dh)?.count != 65 { keyFields.report("p256dh", .invalidValue, detail: "an uncompressed P-256 point, base64url") }
            if let auth, Data(base64URLEncoded: auth)?.count != 16 { keyFields.report("auth", .invalidValue, detail: "16 bytes, base64url") }
            if let p256dh, let auth { keys = .init(p256dh: p256dh, auth: auth) }
            fields.absorb(keyFields)
        } else {
            fields.report("keys", .required)
        }
        let isValid = fields.problems.isEmpty
        reader.absorb(fields)
        guard isValid, let endpoint, let keys else { return nil }
        return Device.WebPushSubscription(endpoint: endpoint, keys: keys, expirationTime: expirationTime)
    }
}
