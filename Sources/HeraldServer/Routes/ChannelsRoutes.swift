import Foundation
import HeraldCore
import HeraldStore
import Hummingbird

/// `/v1/channels`: creating channels and managing group members (Platform API); reading a channel and
/// moving one's read position (members).
struct ChannelsRoutes {
    let store: any ChannelStore
    let hub: Hub

    func add(to routes: RouteRegistrar) {
        routes.on(.post, "/v1/channels", use: create)
        routes.on(.get, "/v1/channels/:id", use: get)
        routes.on(.post, "/v1/channels/:id/members", use: addMembers)
        routes.on(.delete, "/v1/channels/:id/members/:userId", use: removeMember)
        routes.on(.post, "/v1/channels/:id/read", use: markRead)
    }

    @Sendable func create(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let input = try NewChannel(body: await request.bodyData())
        let (channel, created) = try await store.createChannel(input, in: app)
        return try JSONResponse.make(channel, status: created ? .created : .ok)
    }

    @Sendable func get(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let channel = try await requireChannel(context, app: caller.appID)
        try Access.checkCanRead(channel, by: caller)
        return try JSONResponse.make(channel)
    }

    @Sendable func addMembers(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let channelID = try context.parameters.id("id", as: ChannelID.self, resource: "channel")
        let input = try MemberList(body: await request.bodyData())
        return try JSONResponse.make(try await store.addMembers(input.members, to: channelID, in: app))
    }

    @Sendable func removeMember(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let channelID = try context.parameters.id("id", as: ChannelID.self, resource: "channel")
        let userID = try context.parameters.id("userId", as: UserID.self, resource: "member")
        return try JSONResponse.make(try await store.removeMember(userID, from: channelID, in: app))
    }

    @Sendable func markRead(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try Access.requireUser(context.requireCaller())
        let channel = try await requireChannel(context, app: app)
        try Access.checkCanRead(channel, by: .user(app, user))
        var reader = try ObjectReader(body: await request.bodyData())
        let seq = reader.integer("seq", required: true, range: 0...Int64.max)
        try reader.finish()
        let position = try await store.markRead(channel.id, upTo: seq!, by: user, in: app)
        hub.publish(.read(position), app: app, to: channel.members)
        return try JSONResponse.make(position)
    }

    private func requireChannel(_ context: HeraldRequestContext, app: AppID) async throws -> Channel {
        try await store.requireChannel(context.parameters.id("id", as: ChannelID.self, resource: "channel"), in: app)
    }
}
