import HeraldCore

extension HistoryQuery {
    /// The bounds both backends query with: an open side is the extreme of its type, so one statement
    /// text serves every page; one row more than the page, to know whether there is more.
    var bounds: (after: Int64, before: Int64, fetch: Int, order: String) {
        (after ?? Int64.min, before ?? Int64.max, limit + 1, isBackward ? "DESC" : "ASC")
    }

    /// The page from the rows fetched with `bounds`, in seq order.
    func page<Row>(_ fetched: [Row]) -> (rows: [Row], hasMore: Bool) {
        let rows = fetched.prefix(limit)
        return (isBackward ? rows.reversed() : Array(rows), fetched.count > limit)
    }
}
