public import Foundation
import HeraldCore
import NIOHTTP1

/// Sends pushes with FCM HTTP v1 (`POST /v1/projects/{project}/messages:send`).
///
/// The message carries a `notification` (title and body, already generic unless the app chose
/// `full`), Herald's ids as `data`, the badge as Android's `notification_count`, priority and TTL.
/// Answers: 200 accepted (the message `name`); `UNREGISTERED` (404) and `SENDER_ID_MISMATCH` remove
/// the device; 401 refreshes the access token and tries once more; `QUOTA_EXCEEDED` (429),
/// `UNAVAILABLE` and `INTERNAL` (5xx) are retried later, after `Retry-After` when given.
public struct FCMClient: Sendable {
    public static let defaultURL = URL(string: "https://fcm.googleapis.com")!

    let http: PushHTTPClient
    let tokens: FCMAccessTokens
    /// `--fcm-url`.
    let baseURL: URL
    let now: @Sendable () -> Date

    public init(http: PushHTTPClient, tokens: FCMAccessTokens, baseURL: URL?, now: @escaping @Sendable () -> Date) {
        self.http = http
        self.tokens = tokens
        self.baseURL = baseURL ?? Self.defaultURL
        self.now = now
    }

    public static func body(for push: PushNotification, token: String, now: Date) -> Data {
        let ttl = max(0, Int(push.expiresAt.timeIntervalSince(now)))
        var androidNotification: [String: JSONValue] = [:]
        if let badge = push.badge { androidNotification["notification_count"] = .number(Double(badge)) }
        var android: [String: JSONValue] = [
            "priority": .string(push.isUrgent ? "high" : "normal"), "ttl": .string("\(ttl)s"), "collapse_key": .string(push.collapseKey),
        ]
        if !androidNotification.isEmpty { android["notification"] = .object(androidNotification) }
        let message: [String: JSONValue] = [
            "token": .string(token),
            "notification": .object(["title": .string(push.title), "body": .string(push.body)]),
            "data": .object(push.identifiers.mapValues(JSONValue.string)),
            "android": .object(android),
        ]
        return JSONValue.object(["message": .object(message)]).canonicalData()
    }

    public func send(_ push: PushNotification, deviceToken: String, account: FCMServiceAccount) async -> PushResult {
        let first = await attempt(push, deviceToken: deviceToken, account: account)
        guard first.statusCode == 401 else { return first }
        await tokens.invalidate(account)
        return await attempt(push, deviceToken: deviceToken, account: account)
    }

    private func attempt(_ push: PushNotification, deviceToken: String, account: FCMServiceAccount) async -> PushResult {
        let url = baseURL.appendingPathComponent("v1/projects/\(account.projectId)/messages:send")
        do {
            let accessToken: String
            do {
                accessToken = try await tokens.token(for: account)
            } catch let failure as FCMAccessTokens.Failure {
                // A refused grant (bad key, revoked account) needs the operator; an unreachable endpoint is passing.
                let isPassing = failure.status.map { $0 == 429 || $0 >= 500 } ?? true
                return PushResult(isPassing ? .retry : .failed, statusCode: failure.status, reason: "oauth: \(failure.description)")
            }
            let response = try await http.send(
                .POST, url, headers: [("authorization", "Bearer \(accessToken)"), ("content-type", "application/json")],
                body: Self.body(for: push, token: deviceToken, now: now()))
            return Self.result(of: response, now: now())
        } catch {
            return PushResult.transportFailure(error)
        }
    }

    /// Reads FCM's error document: `error.status` and the `errorCode` of its `FcmError` detail.
    static func result(of response: PushHTTPClient.Response, now: Date) -> PushResult {
        let document = try? JSONValue.parse(response.body)
        if response.status == 200 {
            var name: String?
            if case .object(let fields)? = document, case .string(let value)? = fields["name"] { name = value }
            return PushResult(.accepted, statusCode: 200, providerID: name)
        }
        var code: String?
        if case .object(let root)? = document, case .object(let error)? = root["error"] {
            if case .string(let status)? = error["status"] { code = status }
            if case .array(let details)? = error["details"] {
                for case .object(let detail) in details {
                    if case .string(let errorCode)? = detail["errorCode"] { code = errorCode }
                }
            }
        }
        let retryAfter = response.retryAfter(now: now)
        switch code {
        case "UNREGISTERED"?, "SENDER_ID_MISMATCH"?:
            return PushResult(.unregistered, statusCode: response.status, reason: code)
        case "QUOTA_EXCEEDED"?, "UNAVAILABLE"?, "INTERNAL"?:
            return PushResult(.retry, statusCode: response.status, reason: code, retryAfter: retryAfter)
        default:
            return PushResult.from(status: response.status, reason: code, retryAfter: retryAfter)
        }
    }
}
