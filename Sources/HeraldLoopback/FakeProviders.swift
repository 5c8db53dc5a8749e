public import Crypto
public import Foundation
public import HTTPTypes
import HeraldCore
import JWTKit
import Synchronization

/// What a loopback provider found wrong with a request. A real provider would refuse it; the fakes
/// answer 400 with the reason and keep it here, so a test asserts the list is empty.
public final class Violations: Sendable {
    private let list = Mutex<[String]>([])
    public init() {}
    public func add(_ problem: String) { list.withLock { $0.append(problem) } }
    public var all: [String] { list.withLock { $0 } }
}

/// Plays APNs (`POST /3/device/{token}`) as Apple documents it: HTTP/2 only; a provider token that
/// is an ES256 JWT with the team as `iss`, a recent `iat` and the key id as `kid`, signed by the key
/// whose public half this fake holds; `apns-topic`, `apns-push-type`, `apns-priority`,
/// `apns-expiration`, `apns-collapse-id` (≤ 64 bytes); a JSON body of at most 4 KiB with an `aps`
/// dictionary. `script` picks the answer per request; the default is 200 with an `apns-id`.
public struct FakeAPNs: Sendable {
    struct Claims: JWTPayload {
        var iss: String
        var iat: IssuedAtClaim
        func verify(using algorithm: some JWTAlgorithm) throws {}
    }

    public let teamId: String
    public let keyId: String
    public let topic: String
    public let publicKey: P256.Signing.PublicKey
    public let violations = Violations()
    public let now: @Sendable () -> Date

    public init(teamId: String, keyId: String, topic: String, publicKey: P256.Signing.PublicKey, now: @escaping @Sendable () -> Date = { Date() }) {
        self.teamId = teamId
        self.keyId = keyId
        self.topic = topic
        self.publicKey = publicKey
        self.now = now
    }

    /// The checks of one request; nil when it is well-formed.
    public func check(_ request: ReceivedRequest) async -> String? {
        guard request.isHTTP2 else { return "not HTTP/2" }
        guard request.path.hasPrefix("/3/device/"), request.path.dropFirst("/3/device/".count).allSatisfy(\.isHexDigit) else { return "bad path \(request.path)" }
        guard let authorization = request.header("authorization"), authorization.hasPrefix("bearer ") else { return "no bearer token" }
        let token = String(authorization.dropFirst("bearer ".count))
        let headerPart = token.split(separator: ".").first.map(String.init) ?? ""
        guard let headerData = Data(base64URLEncoded: headerPart), case .object(let header)? = try? JSONValue.parse(headerData) else { return "bad JWT header" }
        guard header["alg"] == .string("ES256"), header["kid"] == .string(keyId) else { return "JWT header \(header)" }
        do {
            let claims = try await JWTKeyCollection().add(ecdsa: ES256PublicKey(backing: publicKey)).verify(token, as: Claims.self)
            guard claims.iss == teamId else { return "iss \(claims.iss)" }
            let age = now().timeIntervalSince(claims.iat.value)
            guard age < 3600, age > -60 else { return "ExpiredProviderToken" }
        } catch {
            return "InvalidProviderToken"
        }
        guard request.header("apns-topic") == topic else { return "apns-topic" }
        guard ["alert", "background"].contains(request.header("apns-push-type") ?? "") else { return "apns-push-type" }
        guard ["5", "10"].contains(request.header("apns-priority") ?? "") else { return "apns-priority" }
        guard request.header("apns-expiration").flatMap(Int64.init) != nil else { return "apns-expiration" }
        guard let collapse = request.header("apns-collapse-id"), collapse.utf8.count <= 64 else { return "apns-collapse-id" }
        guard request.body.count <= 4096, case .object(let body)? = try? JSONValue.parse(request.body), case .object(let aps)? = body["aps"] else { return "body" }
        guard case .object(let alert)? = aps["alert"], case .string? = alert["title"], case .string? = alert["body"] else { return "aps.alert" }
        return nil
    }

    /// A handler that checks every request, then answers with `script` (200 by default).
    public func handler(script: @escaping @Sendable (ReceivedRequest) -> ScriptedResponse? = { _ in nil }) -> LoopbackHTTPSServer.Handler {
        { request in
            if let problem = await check(request) {
                if problem != "ExpiredProviderToken" { violations.add(problem) }
                return ScriptedResponse(problem == "ExpiredProviderToken" ? .forbidden : .badRequest, json: #"{"reason":"\#(problem)"}"#)
            }
            if let scripted = script(request) { return scripted }
            return ScriptedResponse(.ok, headers: [HTTPField.Name("apns-id")!: UUID().uuidString])
        }
    }
}

/// Plays Google: the OAuth 2.0 token endpoint (`POST /token`, an RS256 JWT bearer grant from the
/// service account, checked against its public key: `iss`, `scope`, `aud`, at most an hour) and FCM
/// HTTP v1 (`POST /v1/projects/{project}/messages:send` with a token it issued, a JSON `message`
/// with a `token` and string-only `data`).
public final class FakeGoogle: Sendable {
    struct Grant: JWTPayload {
        var iss: String
        var scope: String
        var aud: String
        var iat: IssuedAtClaim
        var exp: ExpirationClaim
        func verify(using algorithm: some JWTAlgorithm) throws {}
    }

    public let projectId: String
    public let clientEmail: String
    public let publicKeyPEM: String
    public let violations = Violations()
    private let issued = Mutex<[String]>([])
    /// Tokens the fake now refuses with 401 (to exercise the refresh).
    private let revoked = Mutex<Set<String>>([])

    public init(projectId: String, clientEmail: String, publicKeyPEM: String) {
        self.projectId = projectId
        self.clientEmail = clientEmail
        self.publicKeyPEM = publicKeyPEM
    }

    public var tokensIssued: [String] { issued.withLock { $0 } }
    public func revokeTokens() { revoked.withLock { $0.formUnion(issued.withLock { $0 }) } }

    public func handler(tokenURL: @escaping @Sendable () -> String, script: @escaping @Sendable (ReceivedRequest) -> ScriptedResponse? = { _ in nil }) -> LoopbackHTTPSServer.Handler {
        { [self] request in
            if request.path == "/token" { return await grant(request, expectedAudience: tokenURL()) }
            guard request.isHTTP2 else { return refuse("not HTTP/2") }
            guard request.path == "/v1/projects/\(projectId)/messages:send" else { return refuse("path \(request.path)") }
            guard let authorization = request.header("authorization"), authorization.hasPrefix("Bearer ") else { return refuse("no bearer") }
            let token = String(authorization.dropFirst("Bearer ".count))
            guard issued.withLock({ $0.contains(token) }), !revoked.withLock({ $0.contains(token) }) else {
                return ScriptedResponse(.unauthorized, json: #"{"error":{"code":401,"status":"UNAUTHENTICATED","message":"expired"}}"#)
            }
            guard case .object(let body)? = try? JSONValue.parse(request.body), case .object(let message)? = body["message"],
                case .string? = message["token"]
            else { return refuse("message") }
            if case .object(let data)? = message["data"], !data.values.allSatisfy({ if case .string = $0 { true } else { false } }) {
                return refuse("data values must be strings")
            }
            if let scripted = script(request) { return scripted }
            return ScriptedResponse(.ok, json: #"{"name":"projects/\#(projectId)/messages/\#(UUID().uuidString)"}"#)
        }
    }

    private func refuse(_ problem: String) -> ScriptedResponse {
        violations.add(problem)
        return ScriptedResponse(.badRequest, json: #"{"error":{"code":400,"status":"INVALID_ARGUMENT","message":"\#(problem)"}}"#)
    }

    private func grant(_ request: ReceivedRequest, expectedAudience: String) async -> ScriptedResponse {
        let form = String(decoding: request.body, as: UTF8.self)
        var fields: [String: String] = [:]
        for pair in form.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        guard request.header("content-type") == "application/x-www-form-urlencoded" else { return refuse("grant content type") }
        guard fields["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer", let assertion = fields["assertion"] else { return refuse("grant type") }
        do {
            let keys = try await JWTKeyCollection().add(rsa: Insecure.RSA.PublicKey(pem: publicKeyPEM), digestAlgorithm: .sha256)
            let claims = try await keys.verify(assertion, as: Grant.self)
            guard claims.iss == clientEmail else { return refuse("grant iss") }
            guard claims.scope == "https://www.googleapis.com/auth/firebase.messaging" else { return refuse("grant scope") }
            guard claims.aud == expectedAudience else { return refuse("grant aud \(claims.aud)") }
            guard claims.exp.value.timeIntervalSince(claims.iat.value) <= 3600 else { return refuse("grant lifetime") }
        } catch {
            return refuse("grant signature: \(error)")
        }
        let token = "ya29.test-\(UUID().uuidString)"
        issued.withLock { $0.append(token) }
        return ScriptedResponse(.ok, json: #"{"access_token":"\#(token)","expires_in":3599,"token_type":"Bearer"}"#)
    }
}

/// A browser's push service and the browser in one: it checks a push as a push service would (VAPID
/// `Authorization: vapid t=, k=` with an ES256 JWT for this origin, signed by `k`, expiring within 24
/// hours; `TTL`, `Urgency`, `Content-Encoding: aes128gcm`), then decrypts the payload with the
/// subscription's own private key and auth secret, as the browser would.
public final class FakeWebPushReceiver: Sendable {
    struct Claims: JWTPayload {
        var aud: String
        var exp: ExpirationClaim
        var sub: String
        func verify(using algorithm: some JWTAlgorithm) throws {}
    }

    public let subscriptionKey = P256.KeyAgreement.PrivateKey()
    public let auth = Data((0..<16).map { _ in UInt8.random(in: 0...255) })
    public let violations = Violations()
    private let payloads = Mutex<[(path: String, payload: Data, vapidKey: String)]>([])

    public init() {}

    public var p256dh: String { subscriptionKey.publicKey.x963Representation.base64URLEncodedString() }
    public var authBase64URL: String { auth.base64URLEncodedString() }
    /// Decrypted payloads with the path they were sent to and the VAPID key that signed them.
    public var received: [(path: String, payload: Data, vapidKey: String)] { payloads.withLock { $0 } }

    public func handler(origin: @escaping @Sendable () -> String, script: @escaping @Sendable (ReceivedRequest) -> ScriptedResponse? = { _ in nil }) -> LoopbackHTTPSServer.Handler {
        { [self] request in
            if let scripted = script(request) { return scripted }
            guard let authorization = request.header("authorization"), authorization.hasPrefix("vapid t="),
                let separator = authorization.range(of: ", k=")
            else { return refuse("vapid header") }
            let token = String(authorization[authorization.index(authorization.startIndex, offsetBy: 8)..<separator.lowerBound])
            let key = String(authorization[separator.upperBound...])
            do {
                guard let keyData = Data(base64URLEncoded: key) else { return refuse("vapid k") }
                let publicKey = try P256.Signing.PublicKey(x963Representation: keyData)
                let claims = try await JWTKeyCollection().add(ecdsa: ES256PublicKey(backing: publicKey)).verify(token, as: Claims.self)
                guard claims.aud == origin() else { return refuse("vapid aud \(claims.aud)") }
                let lifetime = claims.exp.value.timeIntervalSinceNow
                guard lifetime > 0, lifetime <= 24 * 3600 else { return refuse("vapid exp") }
                guard claims.sub.hasPrefix("mailto:") || claims.sub.hasPrefix("https:") else { return refuse("vapid sub") }
            } catch {
                return refuse("vapid signature: \(error)")
            }
            guard request.header("content-encoding") == "aes128gcm" else { return refuse("content-encoding") }
            guard request.header("ttl").flatMap(Int.init) != nil else { return refuse("ttl") }
            guard ["very-low", "low", "normal", "high"].contains(request.header("urgency") ?? "normal") else { return refuse("urgency") }
            if let topic = request.header("topic"), topic.count > 32 { return refuse("topic") }
            do {
                let payload = try WebPushDecryption.decrypt(request.body, receiverKey: subscriptionKey, auth: auth)
                payloads.withLock { $0.append((request.path, payload, key)) }
            } catch {
                return refuse("decryption: \(error)")
            }
            return ScriptedResponse(.created)
        }
    }

    private func refuse(_ problem: String) -> ScriptedResponse {
        violations.add(problem)
        return ScriptedResponse(.badRequest)
    }
}
