public import Foundation
import HeraldCore
import NIOHTTP1

/// Sends pushes to APNs (`POST /3/device/{token}` over HTTP/2) with token-based authentication.
///
/// Headers as Apple documents them: `authorization: bearer <JWT>`, `apns-topic` (the bundle id),
/// `apns-push-type: alert`, `apns-priority` 10 (urgent) or 5, `apns-expiration` (UNIX seconds) and
/// `apns-collapse-id`. Answers: 200 accepted (`apns-id`); 410 `Unregistered` and 400
/// `BadDeviceToken` remove the device; 403 `ExpiredProviderToken` makes a new token and tries once
/// more at once; 429 and 5xx are retried later.
public struct APNsClient: Sendable {
    public static let productionURL = URL(string: "https://api.push.apple.com")!
    public static let sandboxURL = URL(string: "https://api.sandbox.push.apple.com")!

    let http: PushHTTPClient
    let tokens: APNsTokenSigner
    /// `--apns-url`: replaces both of Apple's hosts (a regional or test server).
    let baseURL: URL?
    let now: @Sendable () -> Date

    public init(http: PushHTTPClient, tokens: APNsTokenSigner, baseURL: URL?, now: @escaping @Sendable () -> Date) {
        self.http = http
        self.tokens = tokens
        self.baseURL = baseURL
        self.now = now
    }

    /// The JSON body: the alert, the badge, and Herald's ids under `herald`.
    public static func body(for push: PushNotification) -> Data {
        var aps: [String: JSONValue] = [
            "alert": .object(["title": .string(push.title), "body": .string(push.body)]),
            "sound": .string("default"),
            "mutable-content": .number(1),
        ]
        if let badge = push.badge { aps["badge"] = .number(Double(badge)) }
        let identifiers = push.identifiers.mapValues(JSONValue.string)
        return JSONValue.object(["aps": .object(aps), "herald": .object(identifiers)]).canonicalData()
    }

    public func send(_ push: PushNotification, deviceToken: String, credentials: APNsCredentials) async -> PushResult {
        let first = await attempt(push, deviceToken: deviceToken, credentials: credentials)
        guard first.reason == "ExpiredProviderToken" else { return first }
        await tokens.invalidate(credentials)
        return await attempt(push, deviceToken: deviceToken, credentials: credentials)
    }

    private func attempt(_ push: PushNotification, deviceToken: String, credentials: APNsCredentials) async -> PushResult {
        let base = baseURL ?? (credentials.environment == .production ? Self.productionURL : Self.sandboxURL)
        let url = base.appendingPathComponent("3/device/\(deviceToken)")
        do {
            let token = try await tokens.token(for: credentials)
            let headers = [
                ("authorization", "bearer \(token)"),
                ("apns-topic", credentials.topic),
                ("apns-push-type", "alert"),
                ("apns-priority", push.isUrgent ? "10" : "5"),
                ("apns-expiration", String(Int64(push.expiresAt.timeIntervalSince1970))),
                ("apns-collapse-id", push.collapseKey),
                ("content-type", "application/json"),
            ]
            let response = try await http.send(.POST, url, headers: headers, body: Self.body(for: push))
            return Self.result(of: response, now: now())
        } catch {
            return PushResult.transportFailure(error)
        }
    }

    static func result(of response: PushHTTPClient.Response, now: Date) -> PushResult {
        let reason = (try? JSONValue.parse(response.body)).flatMap { value -> String? in
            if case .object(let fields) = value, case .string(let reason)? = fields["reason"] { return reason }
            return nil
        }
        let retryAfter = response.retryAfter(now: now)
        switch (response.status, reason) {
        case (200, _):
            return PushResult(.accepted, statusCode: 200, providerID: response.headers.first(name: "apns-id"))
        case (400, "BadDeviceToken"?), (400, "DeviceTokenNotForTopic"?), (410, _):
            return PushResult(.unregistered, statusCode: response.status, reason: reason ?? "Unregistered")
        case (403, "ExpiredProviderToken"?):
            return PushResult(.retry, statusCode: 403, reason: reason, retryAfter: retryAfter)
        default:
            return PushResult.from(status: response.status, reason: reason, retryAfter: retryAfter)
        }
    }
}
