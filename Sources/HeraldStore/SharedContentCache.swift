import Foundation
import HeraldCore

/// The opened content of shared notifications (one `notificationContent` row per notification and
/// locale), so that an inbox page opens each broadcast once, not once per item.
///
/// Content never changes once written, so an entry never goes stale; what stays in memory until evicted
/// is the business's broadcast, not a customer's data (`docs/security.md`). Shared by both backends: they
/// fetch what `lookup` finds missing with their own SQL and hand the sealed rows to `open`.
final class SharedContentCache: Sendable {
    struct Key: Hashable, Sendable {
        var app: AppID
        var notification: NotificationID
        var locale: String
    }

    /// One sealed `notificationContent` row.
    struct SealedRow: Sendable {
        var key: Key
        var sealed: Data
    }

    private let opened: BoundedCache<Key, InboxItemRecord.SharedContent>

    init(limit: Int = 4_096) {
        opened = BoundedCache(limit: limit)
    }

    /// The content `records` reference that is opened already, and the keys of what is not (each once),
    /// for the caller to fetch and hand to `open`.
    func lookup(for records: some Sequence<InboxItemRecord>) -> (found: [Key: InboxItemRecord.SharedContent], missing: [Key]) {
        var found: [Key: InboxItemRecord.SharedContent] = [:]
        var missing: [Key] = []
        for record in records {
            guard let locale = record.locale else { continue }
            let key = Key(app: record.appID, notification: record.notificationID, locale: locale)
            guard found[key] == nil, !missing.contains(key) else { continue }
            if let content = opened[key] { found[key] = content } else { missing.append(key) }
        }
        return (found, missing)
    }

    /// Opens `rows` with their app's key, keeps them, and returns them: the caller reads from what this
    /// returns, never from the cache, which may drop an entry at any time.
    /// - Throws: when a row does not open (sealed with another key or context, or changed).
    func open(_ rows: [SealedRow], appKey: (AppID) throws -> DataKey?) throws -> [Key: InboxItemRecord.SharedContent] {
        var contents: [Key: InboxItemRecord.SharedContent] = [:]
        for row in rows {
            guard let key = try appKey(row.key.app) else { continue }
            let content = try key.open(
                json: row.sealed, as: InboxItemRecord.SharedContent.self,
                context: SealingContext.notificationContent(row.key.notification, locale: row.key.locale))
            opened.insert(content, for: row.key)
            contents[row.key] = content
        }
        return contents
    }

    /// The sealed row for `content`, to store once per notification and locale.
    static func seal(_ content: InboxItemRecord.SharedContent, of key: Key, appKey: DataKey) throws -> SealedRow {
        SealedRow(key: key, sealed: try appKey.seal(json: content, context: SealingContext.notificationContent(key.notification, locale: key.locale)))
    }
}
