public import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func engagement(of app: AppID, from: Date, to: Date) async throws -> EngagementReport {
        let (start, end) = (WireTime.milliseconds(from), WireTime.milliseconds(to))
        return try await pool.read { db in
            var categories: [NotificationCategory: EngagementReport.Category] = [:]
            let scope = "appID = ? AND releasedAt IS NOT NULL AND createdAt >= ? AND createdAt < ? AND category = ?"
            for category in NotificationCategory.allCases {
                let arguments: StatementArguments = [app.rawValue, start, end, category.rawValue]
                let row = try Row.fetchOne(
                    db, sql: "SELECT COUNT(*) AS sent, COUNT(deliveredAt) AS delivered, COUNT(readAt) AS read, COUNT(actedAt) AS acted FROM inboxItem WHERE \(scope)",
                    arguments: arguments)!
                var optOuts: Int?
                var optOutRate: Double?
                if category == .marketing {
                    let withdrawn = try Int.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM consentChange WHERE appID = ? AND consent = 'marketing' AND granted = 0 AND at >= ? AND at < ?",
                        arguments: [app.rawValue, start, end]) ?? 0
                    let reached = try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT userID) FROM inboxItem WHERE \(scope)", arguments: arguments) ?? 0
                    optOuts = withdrawn
                    optOutRate = reached == 0 ? 0 : (Double(withdrawn) / Double(reached) * 10_000).rounded() / 10_000
                }
                categories[category] = EngagementReport.Category(
                    sent: try row.decode(forColumn: "sent"), delivered: try row.decode(forColumn: "delivered"), read: try row.decode(forColumn: "read"), acted: try row.decode(forColumn: "acted"),
                    medianSecondsToRead: try Self.median("readAt", scope: scope, arguments: arguments, db: db),
                    medianSecondsToAct: try Self.median("actedAt", scope: scope, arguments: arguments, db: db), optOuts: optOuts, optOutRate: optOutRate)
            }
            return EngagementReport(from: from, to: to, categories: categories)
        }
    }

    /// The median of `column - createdAt` in seconds over the rows where it is set (SQLite has no MEDIAN).
    private static func median(_ column: String, scope: String, arguments: StatementArguments, db: Database) throws -> Double? {
        let count = try Int.fetchOne(db, sql: "SELECT COUNT(\(column)) FROM inboxItem WHERE \(scope)", arguments: arguments) ?? 0
        guard count > 0 else { return nil }
        let sql = "SELECT \(column) - createdAt FROM inboxItem WHERE \(scope) AND \(column) IS NOT NULL ORDER BY 1 LIMIT ? OFFSET ?"
        let middle = try Int64.fetchAll(db, sql: sql, arguments: arguments + [count % 2 == 0 ? 2 : 1, (count - 1) / 2])
        return Double(middle.reduce(0, +)) / Double(middle.count) / 1000
    }
}
