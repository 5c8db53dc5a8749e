import Foundation
import HeraldCore
import HeraldStore
import Hummingbird

/// `/v1/channels/{id}/messages`: posting, paging, editing and deleting messages (Platform API and members).
///
/// A message the business sends as itself (Platform API, no `sender`) is held to the app's link policy
/// and signed, like an inbox item: it is what a phisher would imitate.
struct MessagesRoutes {
    let store: any ChannelStore & MessageStore & SettingsStore
    let signer: BusinessSigner

    func add(to routes: RouteRegistrar) {
        routes.on(.post, "/v1/channels/:id/messages", use: post)
        routes.on(.get, "/v1/channels/:id/messages", use: list)
        routes.on(.get, "/v1/channels/:id/messages/:messageId", use: get)
        routes.on(.patch, "/v1/channels/:id/messages/:messageId", use: edit)
        routes.on(.delete, "/v1/channels/:id/messages/:messageId", use: delete)
    }

    @Sendable func post(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let channel = try await requireChannel(context, app: caller.appID)
        try Access.checkCanRead(channel, by: caller)
        let input = try NewMessage(body: await request.bodyData(), allowsSender: caller.userID == nil)
        let sender = try Access.sender(for: caller, requested: input.sender, in: channel)
        let idempotency = try request.idempotencyKey(
            scope: "http:\(caller):messages:\(channel.id)", request: input.content.canonicalBytes(sender: sender), user: sender)
        let messageSigner = sender == nil ? try await businessMessageSigner(for: input.content, app: caller.appID) : nil
        let result = try await TracedStep.run("herald.commit", ["herald.messages": .int(1)]) {
            try await store.append(
                AppendRequest(app: caller.appID, channel: channel.id, sender: sender, content: input.content, idempotency: idempotency, signer: messageSigner))
        }
        return try JSONResponse.make(result.message, status: result.isReplay ? .ok : .created)
    }

    @Sendable func list(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let channel = try context.parameters.id("id", as: ChannelID.self, resource: "channel")
        let query: HistoryQuery
        do {
            query = try HistoryQuery(
                after: request.uri.queryParameters.get("after"), before: request.uri.queryParameters.get("before"),
                limit: request.uri.queryParameters.get("limit"))
        } catch {
            // As every route answers: a channel that is not the caller's to read is 404 or 403 before its
            // parameters are looked at.
            try Access.checkCanRead(try await store.requireChannel(channel, in: caller.appID), by: caller)
            throw error
        }
        // The channel and the caller's right to read it are checked in the page's own read (one hop to the store).
        let page = try await store.historyPage(of: channel, in: caller.appID, query: query, member: Access.memberRequired(toRead: caller))
        return JSONResponse.make(json: page)
    }

    @Sendable func get(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let channel = try await requireChannel(context, app: caller.appID)
        try Access.checkCanRead(channel, by: caller)
        return try JSONResponse.make(try await requireMessage(context, in: channel, app: caller.appID))
    }

    @Sendable func edit(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (caller, channel, message) = try await modifiableMessage(context)
        let input = try MessageEdit(body: await request.bodyData())
        let messageSigner = message.sender == nil ? try await businessMessageSigner(for: input.content, app: caller.appID) : nil
        return try JSONResponse.make(
            try await store.editMessage(
                message.id, in: channel.id, app: caller.appID, content: input.content, signer: messageSigner, byBusiness: caller.userID == nil))
    }

    @Sendable func delete(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (caller, channel, message) = try await modifiableMessage(context)
        return try JSONResponse.make(try await store.deleteMessage(message.id, in: channel.id, app: caller.appID))
    }

    /// Checks a business message against the link policy and returns the signer for it.
    private func businessMessageSigner(for content: MessageContent, app: AppID) async throws -> MessageSigner {
        try await store.settings(of: app).links.check([("text", content.text)] + LinkPolicy.fields(of: content.data))
        return try await signer.messageSigner(for: app)
    }

    private func requireChannel(_ context: HeraldRequestContext, app: AppID) async throws -> Channel {
        try await store.requireChannel(context.parameters.id("id", as: ChannelID.self, resource: "channel"), in: app)
    }

    /// The caller, channel and message of an edit or delete, once the caller may change the message.
    private func modifiableMessage(_ context: HeraldRequestContext) async throws -> (Caller, Channel, Message) {
        let caller = try context.requireCaller()
        let channel = try await requireChannel(context, app: caller.appID)
        try Access.checkCanRead(channel, by: caller)
        let message = try await requireMessage(context, in: channel, app: caller.appID)
        try Access.checkCanModify(message, in: channel, by: caller)
        return (caller, channel, message)
    }

    private func requireMessage(_ context: HeraldRequestContext, in channel: Channel, app: AppID) async throws -> Message {
        let messageID = try context.parameters.id("messageId", as: MessageID.self, resource: "message")
        guard let message = try await store.message(messageID, in: channel.id, app: app) else { throw HeraldError.notFound(resource: "message") }
        return message
    }
}
