import Foundation
import HeraldCore

/// The rows an `InboxWrite` becomes, the same for both backends: items sealed for their recipient or
/// bound references, shared content sealed once with the app's key, and which items ask for a push.
struct InboxWritePlan {
    var contents: [SharedContentCache.SealedRow]
    var items: [(record: InboxItemRecord, push: Bool)]
    /// The progress's last user, sealed with the app's key: a clear id would name a member of the segment.
    var sealedAfter: Data?
    /// How long after an item's time its push waits, so that live delivery settles it first.
    let pushGrace = Int64(OutboxKind.pushGrace * 1000)

    /// - Parameters:
    ///   - recipientKeys: the data keys of the recipients of personal items; one missing (erased
    ///     meanwhile) drops their item.
    ///   - appKey: the app's data key; required when `write` has shared content, references or a progress
    ///     with a user (`needsAppKey`).
    /// - Throws: `notFound(app)` without an app key where one is needed: nothing is written in clear.
    init(_ write: InboxWrite, now: Int64, recipientKeys: [UserID: DataKey], appKey: DataKey?) throws {
        contents = try write.contents.map { content in
            guard let appKey else { throw HeraldError.notFound(resource: "app") }
            return try SharedContentCache.seal(
                InboxItemRecord.SharedContent(title: content.title, body: content.body, data: content.data, actions: content.actions),
                of: SharedContentCache.Key(app: write.app, notification: content.notification, locale: content.locale), appKey: appKey)
        }
        if let progress = write.progress, let after = progress.after {
            guard let appKey else { throw HeraldError.notFound(resource: "app") }
            sealedAfter = try appKey.seal(Data(after.rawValue.utf8), context: SealingContext.fanOutCursor(progress.notification))
        }
        let tagger = appKey?.tagger(purpose: InboxItemRecord.bindingPurpose)
        items = try write.entries.compactMap { entry in
            let created = WireTime.milliseconds(entry.item.createdAt)
            let releasedAt = created <= now ? now : nil
            if let locale = entry.sharedLocale {
                guard let tagger else { throw HeraldError.notFound(resource: "app") }
                return (InboxItemRecord(reference: entry.item, locale: locale, app: write.app, releasedAt: releasedAt, tagger: tagger), entry.push)
            }
            guard let key = recipientKeys[entry.item.recipient] else { return nil }
            return (try InboxItemRecord(entry.item, app: write.app, releasedAt: releasedAt, key: key), entry.push)
        }
    }

    /// A `fallback.policy` outbox row: due `after` past the item's time (its release, for a held item).
    struct FallbackRow {
        var user: UserID
        var item: InboxItemID
        var channel: String
        var availableAt: Int64
    }

    /// The policy rows for `record`, one per fallback of the write.
    static func fallbackRows(for record: InboxItemRecord, _ fallbacks: [InboxWrite.Fallback]) -> [FallbackRow] {
        fallbacks.map { fallback in
            let (delay, overflow) = fallback.after.multipliedReportingOverflow(by: 1_000)
            let (due, late) = record.createdAt.addingReportingOverflow(overflow ? 0 : delay)
            return FallbackRow(user: record.userID, item: record.id, channel: fallback.channel, availableAt: late ? .max : due)
        }
    }

    static func needsAppKey(_ write: InboxWrite) -> Bool {
        !write.contents.isEmpty || write.progress?.after != nil || write.entries.contains { $0.sharedLocale != nil }
    }

    /// A fan-out's stored progress, its last user opened. A cursor that does not open (changed outside
    /// Herald) starts the fan-out again from the first user, counting from zero: the constraint skips
    /// whoever has an item already.
    static func progress(after sealed: Data?, seen: Int?, of notification: NotificationID, appKey: DataKey?) -> (after: UserID?, seen: Int) {
        guard let sealed else { return (nil, seen ?? 0) }
        guard let appKey, let bytes = try? appKey.open(sealed, context: SealingContext.fanOutCursor(notification)),
            let after = UserID(rawValue: String(decoding: bytes, as: UTF8.self))
        else { return (nil, 0) }
        return (after, seen ?? 0)
    }
}
