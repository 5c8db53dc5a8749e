import Crypto
import Foundation
import HeraldCore
import HeraldPush
import HeraldStore
import Hummingbird

/// `/v1/push/...`: the app's provider credentials and the push delivery log (Platform API), and the
/// public VAPID key browsers subscribe with (`GET /v1/apps/{appId}/webpush`).
///
/// Credentials are stored sealed and never shown again: a GET gives everything but the key.
struct PushRoutes {
    let store: any AppStore & PushStore

    private struct VAPIDKey: Encodable {
        var vapidPublicKey: String
    }

    private struct DeliveryPage: Encodable {
        struct Entry: Encodable {
            var id: Int64
            var userId: UserID
            var deviceId: DeviceID
            var platform: Device.Platform
            var subject: PushDelivery.Subject
            var subjectId: String
            var attempt: Int
            var outcome: PushDelivery.Outcome
            var statusCode: Int?
            var reason: String?
            var at: Date
        }

        var deliveries: [Entry]
        var nextCursor: String?
    }

    /// Public: registered before authentication, like the signing keys.
    func addPublic(to routes: RouteRegistrar) {
        routes.on(.get, "/v1/apps/:appId/webpush", use: vapidKey)
    }

    func add(to routes: RouteRegistrar) {
        routes.on(.put, "/v1/push/apns", use: putAPNs)
        routes.on(.get, "/v1/push/apns", use: { request, context in try await get(.apns, request: request, context: context) })
        routes.on(.delete, "/v1/push/apns", use: { request, context in try await delete(.apns, request: request, context: context) })
        routes.on(.put, "/v1/push/fcm", use: putFCM)
        routes.on(.get, "/v1/push/fcm", use: { request, context in try await get(.fcm, request: request, context: context) })
        routes.on(.delete, "/v1/push/fcm", use: { request, context in try await delete(.fcm, request: request, context: context) })
        routes.on(.get, "/v1/push/deliveries", use: deliveries)
    }

    @Sendable func vapidKey(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try context.parameters.id("appId", as: AppID.self, resource: "app")
        guard try await store.app(app) != nil else { throw HeraldError.notFound(resource: "app") }
        let key = try P256.Signing.PrivateKey(rawRepresentation: try await store.vapidKey(of: app))
        var response = try JSONResponse.make(VAPIDKey(vapidPublicKey: VAPID(key: key).publicKeyBase64URL))
        response.headers[.cacheControl] = "public, max-age=300"
        return response
    }

    @Sendable func putAPNs(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let credentials = try APNsCredentials(body: await request.bodyData())
        try await store.putPushCredentials(.apns, secret: try JSONEncoder().encode(credentials), in: app)
        return try JSONResponse.make(credentials.summary)
    }

    @Sendable func putFCM(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let account = try FCMServiceAccount(body: await request.bodyData())
        try await store.putPushCredentials(.fcm, secret: try JSONEncoder().encode(account), in: app)
        return try JSONResponse.make(account.summary)
    }

    private func get(_ provider: PushCredentialKind, request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        guard let secret = try await store.pushCredentials(provider, of: app) else { throw HeraldError.notFound(resource: "\(provider.rawValue) credentials") }
        let decoder = JSONDecoder()
        let summary = provider == .apns ? try decoder.decode(APNsCredentials.self, from: secret).summary : try decoder.decode(FCMServiceAccount.self, from: secret).summary
        return try JSONResponse.make(summary)
    }

    private func delete(_ provider: PushCredentialKind, request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        guard try await store.deletePushCredentials(provider, of: app) else { throw HeraldError.notFound(resource: "\(provider.rawValue) credentials") }
        return Response(status: .noContent)
    }

    /// Newest first; `?userId=` narrows to one customer; `?limit=` (1–200, 50) and `?cursor=`.
    @Sendable func deliveries(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        var problems: [FieldProblem] = []
        let paging = LogPageQuery(request, problems: &problems)
        let userText = request.uri.queryParameters.get("userId")
        let user = userText.flatMap(UserID.init(rawValue:))
        if userText != nil, user == nil { problems.append(FieldProblem(field: "userId", reason: .invalidIdentifier)) }
        if !problems.isEmpty { throw HeraldError.invalid(problems) }
        let rows = try await store.pushDeliveries(of: user, in: app, limit: paging.limit + 1, before: paging.before)
        let page = rows.prefix(paging.limit).map { id, delivery in
            DeliveryPage.Entry(
                id: id, userId: delivery.userId, deviceId: delivery.deviceId, platform: delivery.platform, subject: delivery.subject,
                subjectId: delivery.subjectId, attempt: delivery.attempt, outcome: delivery.outcome, statusCode: delivery.statusCode,
                reason: delivery.reason, at: delivery.at)
        }
        return try JSONResponse.make(DeliveryPage(deliveries: page, nextCursor: paging.nextCursor(rows: rows.count, lastID: page.last?.id)))
    }
}
