import Foundation
import HeraldCore
import HeraldStore
import Hummingbird

/// `/v1/me/inbox`: the signed-in customer's secure inbox (client API). Expired items leave the list and
/// answer 410.
struct InboxRoutes {
    let store: any InboxStore
    /// Items of shared notifications are signed on their first read (`InboxItemSigner`).
    let signer: InboxItemSigner
    let now: @Sendable () -> Date

    private struct ReadAll: Encodable {
        var updated: Int
        var unreadCount: Int
    }

    func add(to routes: RouteRegistrar) {
        routes.on(.get, "/v1/me/inbox", use: list)
        routes.on(.post, "/v1/me/inbox/read-all", use: readAll)
        routes.on(.get, "/v1/me/inbox/:itemId", use: get)
        routes.on(.post, "/v1/me/inbox/:itemId/read", use: read)
        routes.on(.post, "/v1/me/inbox/:itemId/archive", use: archive)
    }

    @Sendable func list(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try Access.requireUser(context.requireCaller())
        let parameters = request.uri.queryParameters
        let query = try InboxQuery(
            cursor: parameters.get("cursor"), limit: parameters.get("limit"), category: parameters.get("category"), state: parameters.get("state"))
        // The store may answer from a page it kept (`InboxStore.inboxPage`): what it renders depends on the page alone.
        let json = try await store.inboxPage(of: user, in: app, query: query) { [signer] page in
            var page = page
            page.items = try await signer.signed(page.items, app: app)
            return JSONResponse.json(page)
        }
        return JSONResponse.make(json: json)
    }

    @Sendable func get(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try Access.requireUser(context.requireCaller())
        let item = try await store.requireLiveInboxItem(context.parameters.id("itemId", as: InboxItemID.self, resource: "inbox item"), of: user, in: app, now: now())
        return try JSONResponse.make(try await signer.signed(item, app: app))
    }

    @Sendable func read(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try Access.requireUser(context.requireCaller())
        let id = try context.parameters.id("itemId", as: InboxItemID.self, resource: "inbox item")
        _ = try await store.requireLiveInboxItem(id, of: user, in: app, now: now())
        return try JSONResponse.make(try await signer.signed(try await store.markInboxItemRead(id, of: user, in: app), app: app))
    }

    @Sendable func archive(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try Access.requireUser(context.requireCaller())
        let id = try context.parameters.id("itemId", as: InboxItemID.self, resource: "inbox item")
        return try JSONResponse.make(try await signer.signed(try await store.archiveInboxItem(id, of: user, in: app), app: app))
    }

    /// Optional body `{"category": "marketing"}` limits it to one category.
    @Sendable func readAll(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let (app, user) = try Access.requireUser(context.requireCaller())
        var reader = try ObjectReader(body: await request.bodyData())
        let categoryText = reader.string("category")
        let category = categoryText.flatMap(NotificationCategory.init(rawValue:))
        if categoryText != nil, category == nil { reader.report("category", .invalidValue, detail: "security, transactional or marketing") }
        try reader.finish()
        let updated = try await store.markAllInboxItemsRead(of: user, in: app, category: category)
        return try JSONResponse.make(ReadAll(updated: updated, unreadCount: try await store.unreadInboxCount(of: user, in: app)))
    }
}

extension InboxStore {
    /// The item, when it exists for the user and has not expired.
    /// - Throws: `notFound`, or `gone` for an expired item.
    func requireLiveInboxItem(_ id: InboxItemID, of user: UserID, in app: AppID, now: Date) async throws -> InboxItem {
        guard let item = try await inboxItem(id, of: user, in: app) else { throw HeraldError.notFound(resource: "inbox item") }
        if item.isExpired(at: now) { throw HeraldError.gone(detail: "This item expired at \(WireTime.format(item.expiresAt!)).") }
        return item
    }
}
