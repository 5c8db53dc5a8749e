import Foundation
import HeraldCore
import HeraldStore
import Hummingbird

/// `/v1/webhooks`: where Herald tells the business what happened, and the log of deliveries (Platform API).
struct WebhooksRoutes {
    let store: any WebhookStore
    let allowsPrivateTargets: Bool

    private struct Created: Encodable {
        var url: String
        var events: [WebhookEvent]
        var createdAt: Date
        /// Shown once: the receiver verifies `webhook-signature` with it.
        var secret: String
    }

    private struct DeliveryPage: Encodable {
        struct Entry: Encodable {
            var id: Int64
            var messageId: String
            var event: String
            var attempt: Int
            var url: String
            var statusCode: Int?
            var error: String?
            var durationMilliseconds: Int
            var at: Date
            var outcome: WebhookDelivery.Outcome
        }

        var deliveries: [Entry]
        var nextCursor: String?
    }

    func add(to routes: RouteRegistrar) {
        routes.on(.put, "/v1/webhooks", use: put)
        routes.on(.get, "/v1/webhooks", use: get)
        routes.on(.delete, "/v1/webhooks", use: delete)
        routes.on(.get, "/v1/webhooks/deliveries", use: deliveries)
    }

    /// Every PUT issues a new secret, so a leaked one is replaced by setting the webhook again.
    @Sendable func put(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let (url, events) = try Webhook.read(body: await request.bodyData(), allowsPrivateTargets: allowsPrivateTargets)
        let secret = WebhookSignature.generateSecret()
        let webhook = try await store.putWebhook(url: url, events: events, secret: secret, in: app)
        return try JSONResponse.make(Created(url: webhook.url, events: webhook.events, createdAt: webhook.createdAt, secret: secret))
    }

    @Sendable func get(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        guard let (webhook, _) = try await store.webhook(of: app) else { throw HeraldError.notFound(resource: "webhook") }
        return try JSONResponse.make(webhook)
    }

    @Sendable func delete(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        guard try await store.deleteWebhook(of: app) else { throw HeraldError.notFound(resource: "webhook") }
        return Response(status: .noContent)
    }

    /// Newest first; `?limit=` (1–200, 50) and `?cursor=` from the previous page.
    @Sendable func deliveries(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        var problems: [FieldProblem] = []
        let paging = LogPageQuery(request, problems: &problems)
        if !problems.isEmpty { throw HeraldError.invalid(problems) }
        let rows = try await store.deliveries(of: app, limit: paging.limit + 1, before: paging.before)
        let page = rows.prefix(paging.limit).map { id, delivery in
            DeliveryPage.Entry(
                id: id, messageId: delivery.messageId, event: delivery.event, attempt: delivery.attempt, url: delivery.url, statusCode: delivery.statusCode,
                error: delivery.error, durationMilliseconds: delivery.durationMilliseconds, at: delivery.at, outcome: delivery.outcome)
        }
        return try JSONResponse.make(DeliveryPage(deliveries: page, nextCursor: paging.nextCursor(rows: rows.count, lastID: page.last?.id)))
    }
}
