public import HeraldCore

/// Pages of a notification's listed recipients, in id order: the same for both backends, so a fan-out
/// resumed on either walks the same sequence.
enum AudiencePaging {
    /// The distinct ids after `after`, at most `limit` of them, and whether none remain beyond.
    static func page(of ids: [UserID], after: UserID?, limit: Int) -> (ids: [UserID], isFinal: Bool) {
        let sorted = Set(ids).sorted { $0.rawValue < $1.rawValue }
        let start = after.map { cursor in sorted.firstIndex { $0.rawValue > cursor.rawValue } ?? sorted.endIndex } ?? sorted.startIndex
        let end = start + min(limit, sorted.endIndex - start)
        return (Array(sorted[start..<end]), end == sorted.endIndex)
    }
}

extension NotificationStore where Self: UserStore {
    /// Up to `limit` users of the notification's audience as they are now, in id order, after `after`:
    /// one rule for both backends, over their own user queries.
    public func audience(of notification: OutgoingNotification, after: UserID?, limit: Int) async throws -> AudiencePage {
        switch notification.audience {
        case .users(let ids):
            let page = AudiencePaging.page(of: ids, after: after, limit: limit)
            return AudiencePage(recipients: try await recipients(page.ids, in: notification.app), last: page.ids.last, seen: page.ids.count, isFinal: page.isFinal)
        case .segment(let segment):
            let recipients = try await recipients(in: segment, app: notification.app, after: after, limit: limit)
            return AudiencePage(recipients: recipients, last: recipients.last?.id, seen: recipients.count, isFinal: recipients.count < limit)
        }
    }
}
