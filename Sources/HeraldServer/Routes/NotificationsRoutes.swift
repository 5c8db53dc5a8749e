import Foundation
import HeraldCore
import HeraldStore
import Hummingbird

/// `/v1/notifications`: the business sends secure notifications into its customers' inboxes and
/// follows what became of them (Platform API).
struct NotificationsRoutes {
    let store: any NotificationStore
    let notifications: NotificationService
    let now: @Sendable () -> Date

    private struct Sent: Encodable {
        var id: NotificationID
        var recipients: Int
        var skipped: Int
        var status: OutgoingNotification.Status
        var sendAt: Date?
    }

    func add(to routes: RouteRegistrar) {
        routes.on(.post, "/v1/notifications", use: post)
        routes.on(.get, "/v1/notifications/:id", use: get)
    }

    /// Answers after the fan-out (immediate sends) or once the schedule is stored (`sendAt`).
    @Sendable func post(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let body = try await request.bodyData(limit: Limits.notificationBodyBytes)
        let new = try NewNotification(body: body, now: now())
        let canonical = (try? JSONValue.parse(body).canonicalData()) ?? body
        let idempotency = try request.idempotencyKey(scope: "http:platform(\(app)):notifications", request: canonical, user: new.soleRecipient)
        let (report, isReplay) = try await notifications.send(new, app: app, idempotency: idempotency)
        let sent = Sent(id: report.id, recipients: report.recipients, skipped: report.skipped, status: report.status, sendAt: report.sendAt)
        return try JSONResponse.make(sent, status: isReplay ? .ok : .created)
    }

    @Sendable func get(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let id = try context.parameters.id("id", as: NotificationID.self, resource: "notification")
        guard let report = try await store.notificationReport(id, in: app) else { throw HeraldError.notFound(resource: "notification") }
        return try JSONResponse.make(report)
    }
}
