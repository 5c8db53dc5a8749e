import HeraldCore
import Hummingbird

/// `?limit=` (1–200, default 50) and `?cursor=` (the last id of the previous page) of the delivery logs,
/// newest first.
struct LogPageQuery {
    var limit: Int
    var before: Int64?

    /// Reads both, adding a problem per bad one to `problems` (the caller may have more to add).
    init(_ request: Request, problems: inout [FieldProblem]) {
        let query = request.uri.queryParameters
        limit = query.get("limit").map { Int($0) ?? 0 } ?? Limits.defaultPageSize
        if !(1...Limits.pageSize).contains(limit) { problems.append(FieldProblem(field: "limit", reason: .outOfRange, detail: "1 to \(Limits.pageSize)")) }
        let cursor = query.get("cursor")
        before = cursor.flatMap(Int64.init)
        if cursor != nil, before == nil { problems.append(FieldProblem(field: "cursor", reason: .invalidValue)) }
    }

    /// The cursor of the next page, when the store returned more than a page (it is asked for `limit + 1`).
    func nextCursor(rows: Int, lastID: Int64?) -> String? {
        rows > limit ? lastID.map(String.init) : nil
    }
}
