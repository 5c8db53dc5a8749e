import HeraldCore
import HeraldStore
import Hummingbird

/// `/v1/me/devices`: the customer's app installations, for push and step-up keys (client API).
struct DevicesRoutes {
    let store: any Store
    let allowsPrivateTargets: Bool

    private struct Registered: Encodable {
        var deviceId: DeviceID
        var device: Device
    }

    private struct DeviceList: Encodable {
        var devices: [Device]
    }

    func add(to routes: RouteRegistrar) {
        routes.on(.post, "/v1/me/devices", use: register)
        routes.on(.get, "/v1/me/devices", use: list)
        routes.on(.delete, "/v1/me/devices/:deviceId", use: delete)
    }

    /// 201 for a new device, 200 when the same user registered the same token again.
    @Sendable func register(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try Access.requireUser(context.requireCaller())
        let (device, created) = try await store.registerDevice(NewDevice(body: await request.bodyData(), allowsPrivateTargets: allowsPrivateTargets), for: user, in: app)
        return try JSONResponse.make(Registered(deviceId: device.id, device: device), status: created ? .created : .ok)
    }

    @Sendable func list(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try Access.requireUser(context.requireCaller())
        return try JSONResponse.make(DeviceList(devices: try await store.devices(of: user, in: app)))
    }

    @Sendable func delete(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try Access.requireUser(context.requireCaller())
        let id = try context.parameters.id("deviceId", as: DeviceID.self, resource: "device")
        guard try await store.deleteDevice(id, of: user, in: app) else { throw HeraldError.notFound(resource: "device") }
        return Response(status: .noContent)
    }
}
