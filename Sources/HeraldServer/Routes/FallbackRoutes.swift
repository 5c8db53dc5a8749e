import Foundation
import HeraldCore
import HeraldPush
import HeraldStore
import Hummingbird

/// `/v1/fallback/...`: the app's SMS gateway and SMTP server for the journeys' fallback outside the
/// app, and the log of what was sent (Platform API). Credentials are stored sealed and never shown
/// again: a GET gives everything but the secret.
struct FallbackRoutes {
    let store: any JourneyStore & PushStore
    let allowsPrivateTargets: Bool

    private struct DeliveryPage: Encodable {
        struct Entry: Encodable {
            var id: Int64
            var userId: UserID
            var itemId: InboxItemID
            var channel: JourneyDefinition.FallbackChannel
            var attempt: Int
            var outcome: FallbackDelivery.Outcome
            var statusCode: Int?
            var reason: String?
            var at: Date
        }

        var deliveries: [Entry]
        var nextCursor: String?
    }

    func add(to routes: RouteRegistrar) {
        routes.on(.put, "/v1/fallback/sms", use: putSMS)
        routes.on(.get, "/v1/fallback/sms", use: { request, context in try await get(.sms, context: context) })
        routes.on(.delete, "/v1/fallback/sms", use: { request, context in try await delete(.sms, context: context) })
        routes.on(.put, "/v1/fallback/email", use: putEmail)
        routes.on(.get, "/v1/fallback/email", use: { request, context in try await get(.email, context: context) })
        routes.on(.delete, "/v1/fallback/email", use: { request, context in try await delete(.email, context: context) })
        routes.on(.get, "/v1/fallback/deliveries", use: deliveries)
    }

    @Sendable func putSMS(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let credentials = try SMSCredentials(body: await request.bodyData(), allowsPrivateTargets: allowsPrivateTargets)
        try await store.putPushCredentials(.sms, secret: try JSONEncoder().encode(credentials), in: app)
        return try JSONResponse.make(credentials.summary)
    }

    @Sendable func putEmail(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let credentials = try EmailCredentials(body: await request.bodyData(), allowsPrivateTargets: allowsPrivateTargets)
        try await store.putPushCredentials(.email, secret: try JSONEncoder().encode(credentials), in: app)
        return try JSONResponse.make(credentials.summary)
    }

    private func get(_ channel: PushCredentialKind, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        guard let secret = try await store.pushCredentials(channel, of: app) else { throw HeraldError.notFound(resource: "\(channel.rawValue) provider") }
        let decoder = JSONDecoder()
        let summary = channel == .sms ? try decoder.decode(SMSCredentials.self, from: secret).summary : try decoder.decode(EmailCredentials.self, from: secret).summary
        return try JSONResponse.make(summary)
    }

    private func delete(_ channel: PushCredentialKind, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        guard try await store.deletePushCredentials(channel, of: app) else { throw HeraldError.notFound(resource: "\(channel.rawValue) provider") }
        return Response(status: .noContent)
    }

    /// Newest first; `?limit=` (1–200, 50) and `?cursor=`.
    @Sendable func deliveries(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        var problems: [FieldProblem] = []
        let paging = LogPageQuery(request, problems: &problems)
        if !problems.isEmpty { throw HeraldError.invalid(problems) }
        let rows = try await store.fallbackDeliveries(of: app, limit: paging.limit + 1, before: paging.before)
        let page = rows.prefix(paging.limit).map { id, delivery in
            DeliveryPage.Entry(
                id: id, userId: delivery.user, itemId: delivery.item, channel: delivery.channel, attempt: delivery.attempt, outcome: delivery.outcome,
                statusCode: delivery.statusCode, reason: delivery.reason, at: delivery.at)
        }
        return try JSONResponse.make(DeliveryPage(deliveries: page, nextCursor: paging.nextCursor(rows: rows.count, lastID: page.last?.id)))
    }
}
