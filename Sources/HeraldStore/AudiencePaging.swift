import HeraldCore

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
