public import Foundation
public import HeraldCore
import NIOHTTP1

/// Sends Web Push messages (RFC 8030) to a browser's subscription endpoint: the payload encrypted
/// for the subscription (RFC 8291), the app identified by VAPID (RFC 8292).
///
/// Headers: `TTL` (seconds until the item expires), `Urgency` (`high` for security, `normal`,
/// `low` for marketing), `Topic` (a collapse key, so a retried push replaces the first),
/// `Content-Encoding: aes128gcm`. 201 (or any 2xx) is accepted; 404 and 410 mean the subscription is
/// gone and the device is removed; 429 and 5xx are retried.
public struct WebPushClient: Sendable {
    let http: PushHTTPClient
    let now: @Sendable () -> Date
    private let authorizations = AuthorizationCache()

    public init(http: PushHTTPClient, now: @escaping @Sendable () -> Date) {
        self.http = http
        self.now = now
    }

    /// VAPID headers by key and push service origin: a JWT is valid for 12 hours and may be presented
    /// many times, so it is signed again only when less than an hour is left.
    actor AuthorizationCache {
        private var headers: [String: (value: String, expiresAt: Date)] = [:]

        func header(for vapid: VAPID, endpoint: URL, now: Date) async throws -> String {
            let cacheKey = "\(vapid.publicKeyBase64URL)|\(endpoint.scheme ?? "")://\(endpoint.host ?? ""):\(endpoint.port ?? 0)"
            if let cached = headers[cacheKey], cached.expiresAt.timeIntervalSince(now) > 3600 { return cached.value }
            let value = try await vapid.authorization(for: endpoint, now: now)
            if headers.count > 10_000 { headers.removeAll() }
            headers[cacheKey] = (value, now.addingTimeInterval(VAPID.lifetime))
            return value
        }
    }

    /// The plaintext of the encrypted payload: `{"type", "appId", "id", "title", "body"}` (API.md),
    /// plus `channelId` for a message and `badge`.
    public static func payload(for push: PushNotification) -> Data {
        var fields = push.identifiers.mapValues(JSONValue.string)
        fields["title"] = .string(push.title)
        fields["body"] = .string(push.body)
        if let badge = push.badge { fields["badge"] = .number(Double(badge)) }
        return JSONValue.object(fields).canonicalData()
    }

    public func send(_ push: PushNotification, to subscription: Device.WebPushSubscription, vapid: VAPID, category: NotificationCategory?) async -> PushResult {
        guard let endpoint = URL(string: subscription.endpoint), let p256dh = Data(base64URLEncoded: subscription.keys.p256dh),
            let auth = Data(base64URLEncoded: subscription.keys.auth)
        else { return PushResult(.unregistered, reason: "malformed subscription") }
        do {
            let body = try WebPushEncryption.encrypt(Self.payload(for: push), p256dh: p256dh, auth: auth)
            let time = now()
            let urgency = category == .marketing ? "low" : (push.isUrgent ? "high" : "normal")
            let headers = [
                ("authorization", try await authorizations.header(for: vapid, endpoint: endpoint, now: time)),
                ("content-encoding", "aes128gcm"),
                ("content-type", "application/octet-stream"),
                ("ttl", String(max(0, Int(push.expiresAt.timeIntervalSince(time))))),
                ("urgency", urgency),
                ("topic", push.collapseKey),
            ]
            let response = try await http.send(.POST, endpoint, headers: headers, body: body)
            return PushResult.from(status: response.status, reason: response.status >= 300 ? "HTTP \(response.status)" : nil, retryAfter: response.retryAfter(now: time))
        } catch WebPushEncryption.Failure.payloadTooLarge {
            return PushResult(.failed, reason: "payload too large")
        } catch let failure as WebPushEncryption.Failure {
            return PushResult(.unregistered, reason: "subscription keys: \(failure)")
        } catch {
            return PushResult.transportFailure(error)
        }
    }
}
