import Foundation
import HeraldCore

/// An outbox row as both backends write and read it: webhook and follow-up payloads (event data, action
/// inputs) sealed with the app's key, push payloads (ids only) clear, since settling updates them in SQL.
struct OutboxRow: Sendable {
    var entry: OutboxEntry
    var sealed: Data?

    /// The rows for `entries` of `app`, sealed where their kind says so.
    /// - Throws: `notFound(app)` when a payload must be sealed and the app has no key: never written in clear.
    static func rows(_ entries: [OutboxEntry], app: AppID, appKey: DataKey?) throws -> [OutboxRow] {
        try entries.map { entry in
            guard entry.kind.isSealed else { return OutboxRow(entry: entry, sealed: nil) }
            guard let appKey else { throw HeraldError.notFound(resource: "app") }
            return OutboxRow(
                entry: entry, sealed: try appKey.seal(Data(entry.payload.utf8), context: SealingContext.outbox(app: app, kind: entry.kind, subject: entry.subject)))
        }
    }

    /// The job of a claimed row, its payload opened when it was sealed (a push row has none: "").
    /// - Returns: nil for a sealed payload whose app key is gone: never handed out, whatever the backend.
    static func job(
        id: Int64, app: AppID, kind: OutboxKind, user: UserID?, subject: String?, clear: String?, sealed: Data?, attempts: Int, createdAt: Int64,
        appKey: @autoclosure () throws -> DataKey?
    ) throws -> OutboxJob? {
        var payload = clear ?? ""
        if let sealed {
            guard let appKey = try appKey() else { return nil }
            payload = String(decoding: try appKey.open(sealed, context: SealingContext.outbox(app: app, kind: kind, subject: subject)), as: UTF8.self)
        }
        return OutboxJob(
            id: id, app: app, kind: kind, user: user, subject: subject, payload: payload, attempts: attempts, createdAt: WireTime.date(milliseconds: createdAt))
    }

    /// The part of a delivery error kept with a row that will be retried.
    static func storedError(_ error: String) -> String { String(error.prefix(500)) }
}
