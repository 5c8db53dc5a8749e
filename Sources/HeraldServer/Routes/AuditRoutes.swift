import HeraldCore
import HeraldStore
import Hummingbird

/// `GET /v1/audit`: the app's audit trail, oldest first (Platform API).
struct AuditRoutes {
    let store: any AuditStore

    private struct Page: Encodable {
        var events: [AuditEvent]
        /// Pass as `after` for the next page; absent on the last page.
        var next: Int64?
    }

    func add(to routes: RouteRegistrar) {
        routes.on(.get, "/v1/audit", use: list)
    }

    /// `?after=ID` (an event id, default from the start) and `?limit=N` (1–200, default 50).
    @Sendable func list(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let query = request.uri.queryParameters
        var problems: [FieldProblem] = []
        let limit = query.get("limit").map { Int($0) ?? 0 } ?? Limits.defaultPageSize
        if !(1...Limits.pageSize).contains(limit) { problems.append(FieldProblem(field: "limit", reason: .outOfRange, detail: "1 to \(Limits.pageSize)")) }
        let afterText = query.get("after")
        let after = afterText.flatMap(Int64.init)
        if afterText != nil, (after ?? -1) < 0 { problems.append(FieldProblem(field: "after", reason: .invalidValue, detail: "an event id")) }
        if !problems.isEmpty { throw HeraldError.invalid(problems) }
        let events = try await store.auditEvents(of: app, after: after, limit: limit + 1)
        let page = Array(events.prefix(limit))
        return try JSONResponse.make(Page(events: page, next: events.count > limit ? page.last?.id : nil))
    }
}
