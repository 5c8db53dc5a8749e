import Foundation
import HeraldCore
import HeraldStore
import Hummingbird

/// Customers' devices: `/v1/me/devices` for the customer's app (client API), and
/// `/v1/users/{userId}/devices` for the business's support staff and its step-up activation (Platform API).
///
/// A step-up key enrolled with a user token is pending until the business activates it, so a stolen
/// token cannot enrol a key that approves payments. Enrolment, activation and removal are audited
/// (with the customer as actor when their app did it) and reported by webhook.
struct DevicesRoutes {
    let store: any AuditStore & DeviceStore & UserStore
    let webhooks: WebhookEvents
    let allowsPrivateTargets: Bool
    let now: @Sendable () -> Date

    private struct Registered: Encodable {
        var deviceId: DeviceID
        var stepUp: DeviceView.StepUp?
        var device: DeviceView
    }

    private struct DeviceList: Encodable {
        var devices: [DeviceView]
    }

    func add(to routes: RouteRegistrar) {
        routes.on(.post, "/v1/me/devices", use: register)
        routes.on(.get, "/v1/me/devices", use: list)
        routes.on(.delete, "/v1/me/devices/:deviceId", use: delete)
        routes.on(.get, "/v1/users/:userId/devices", use: listForPlatform)
        routes.on(.delete, "/v1/users/:userId/devices/:deviceId", use: deleteForPlatform)
        routes.on(.post, "/v1/users/:userId/devices/:deviceId/step-up/activate", use: activate)
    }

    /// 201 for a new device, 200 when the same user registered the same token again.
    @Sendable func register(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try Access.requireUser(context.requireCaller())
        let new = try NewDevice(body: await request.bodyData(), allowsPrivateTargets: allowsPrivateTargets)
        // A subscription the push service has already dropped would be registered only to be removed at
        // its first push.
        if new.subscription?.hasExpired(at: now()) == true {
            throw HeraldError.invalid(field: "subscription.expirationTime", .outOfRange, detail: "in the past: the push service has dropped this subscription")
        }
        let time = WireTime.truncated(now())
        let pending = try await webhooks.maker(for: .deviceStepUpPending, app: app, user: user, at: time)
        let registration = try await store.registerDevice(new, for: user, in: app) { device in pending(WebhookEvents.deviceData(device, user: user)) }
        let device = registration.device
        if registration.enrolledStepUpKey {
            try await audit(app, actor: "user:\(user)", action: "device.step_up_pending", target: "/v1/users/\(user)/devices/\(device.id)")
        }
        if let previous = registration.tookPushTokenFrom {
            try await audit(app, actor: "user:\(user)", action: "device.push_token_moved", target: "/v1/users/\(previous)/devices")
        }
        let view = DeviceView(device)
        return try JSONResponse.make(Registered(deviceId: device.id, stepUp: view.stepUp, device: view), status: registration.created ? .created : .ok)
    }

    @Sendable func list(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try Access.requireUser(context.requireCaller())
        return try JSONResponse.make(DeviceList(devices: try await store.devices(of: user, in: app).map(DeviceView.init)))
    }

    @Sendable func delete(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try Access.requireUser(context.requireCaller())
        try await remove(context, user: user, app: app, actor: "user:\(user)")
        return Response(status: .noContent)
    }

    @Sendable func listForPlatform(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try await platformUser(context)
        return try JSONResponse.make(DeviceList(devices: try await store.devices(of: user, in: app).map(DeviceView.init)))
    }

    /// Support removes a device (a lost phone); the route audit records it as the platform's.
    @Sendable func deleteForPlatform(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try await platformUser(context)
        try await remove(context, user: user, app: app, actor: nil)
        return Response(status: .noContent)
    }

    /// The business activates a pending key once it has authenticated its customer its own strong way
    /// (in a branch, by a video call, with its existing app's second factor). Idempotent.
    @Sendable func activate(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try await platformUser(context)
        let id = try context.parameters.id("deviceId", as: DeviceID.self, resource: "device")
        let activated = try await webhooks.maker(for: .deviceStepUpActivated, app: app, user: user, at: WireTime.truncated(now()))
        let (device, _) = try await store.activateStepUpKey(of: id, of: user, in: app) { device in activated(WebhookEvents.deviceData(device, user: user)) }
        return try JSONResponse.make(DeviceView(device))
    }

    private func remove(_ context: HeraldRequestContext, user: UserID, app: AppID, actor: String?) async throws {
        let id = try context.parameters.id("deviceId", as: DeviceID.self, resource: "device")
        guard let device = try await store.device(id, of: user, in: app) else { throw HeraldError.notFound(resource: "device") }
        let removed = try await webhooks.entries(for: .deviceRemoved, app: app, user: user, data: WebhookEvents.deviceData(device, user: user), at: WireTime.truncated(now()))
        guard try await store.deleteDevice(id, of: user, in: app, effects: removed) else { throw HeraldError.notFound(resource: "device") }
        if let actor { try await audit(app, actor: actor, action: "device.removed", target: "/v1/users/\(user)/devices/\(id)") }
    }

    private func platformUser(_ context: HeraldRequestContext) async throws -> (AppID, UserID) {
        let app = try Access.requirePlatform(context.requireCaller())
        let user = try context.parameters.id("userId", as: UserID.self, resource: "user")
        guard try await store.user(user, in: app) != nil else { throw HeraldError.notFound(resource: "user") }
        return (app, user)
    }

    /// What a customer's app did, on the app's audit chain (Platform API writes are audited by the registrar).
    private func audit(_ app: AppID, actor: String, action: String, target: String) async throws {
        try await store.recordAudit(NewAuditEvent(chain: .app(app), actor: actor, action: action, target: target))
    }
}
