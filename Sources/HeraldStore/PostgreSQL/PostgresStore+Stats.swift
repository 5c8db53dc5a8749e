public import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {
    public func engagement(of app: AppID, from: Date, to: Date) async throws -> EngagementReport {
        let (start, end) = (WireTime.milliseconds(from), WireTime.milliseconds(to))
        // One row per category; medians are PostgreSQL's `percentile_cont(0.5)`, which averages the two
        // middle values of an even count, as the embedded store does.
        let rows = try await database.rows(
            """
            SELECT category, count(*), count(deliveredAt), count(readAt), count(actedAt), count(DISTINCT userID),
                percentile_cont(0.5) WITHIN GROUP (ORDER BY readAt - createdAt) FILTER (WHERE readAt IS NOT NULL),
                percentile_cont(0.5) WITHIN GROUP (ORDER BY actedAt - createdAt) FILTER (WHERE actedAt IS NOT NULL)
            FROM inboxItem WHERE appID = \(app) AND releasedAt IS NOT NULL AND createdAt >= \(start) AND createdAt < \(end)
            GROUP BY category
            """)
        var counted: [String: (sent: Int, delivered: Int, read: Int, acted: Int, reached: Int, toRead: Double?, toAct: Double?)] = [:]
        for row in rows {
            let (category, sent, delivered, read, acted, reached, toRead, toAct) = try row.decode((String, Int, Int, Int, Int, Int, Double?, Double?).self)
            counted[category] = (sent, delivered, read, acted, reached, toRead, toAct)
        }
        let withdrawn = try await database.value(
            """
            SELECT count(*) FROM consentChange WHERE appID = \(app) AND consent = 'marketing' AND NOT granted AND at >= \(start) AND at < \(end)
            """, as: Int.self) ?? 0
        var categories: [NotificationCategory: EngagementReport.Category] = [:]
        for category in NotificationCategory.allCases {
            let figures = counted[category.rawValue] ?? (0, 0, 0, 0, 0, nil, nil)
            var optOuts: Int?
            var optOutRate: Double?
            if category == .marketing {
                optOuts = withdrawn
                optOutRate = figures.reached == 0 ? 0 : (Double(withdrawn) / Double(figures.reached) * 10_000).rounded() / 10_000
            }
            categories[category] = EngagementReport.Category(
                sent: figures.sent, delivered: figures.delivered, read: figures.read, acted: figures.acted,
                medianSecondsToRead: figures.toRead.map { $0 / 1000 }, medianSecondsToAct: figures.toAct.map { $0 / 1000 }, optOuts: optOuts,
                optOutRate: optOutRate)
        }
        return EngagementReport(from: from, to: to, categories: categories)
    }
}
