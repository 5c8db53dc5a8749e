public import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func expireContent(of app: AppID, createdBefore cutoff: Date, limit: Int) async throws -> (messages: Int, inboxItems: Int) {
        let before = WireTime.milliseconds(cutoff)
        let time = nowMilliseconds()
        return try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE message SET sealed = NULL, deletedAt = ?
                    WHERE id IN (
                        SELECT message.id FROM message JOIN channel ON channel.id = message.channelID
                        WHERE message.createdAt < ? AND message.deletedAt IS NULL AND channel.appID = ?
                        LIMIT ?)
                    """, arguments: [time, before, app.rawValue, limit])
            let messages = db.changesCount
            try db.execute(
                sql: "DELETE FROM inboxItem WHERE rowid IN (SELECT rowid FROM inboxItem WHERE appID = ? AND createdAt < ? LIMIT ?)",
                arguments: [app.rawValue, before, limit])
            let items = db.changesCount
            try db.execute(sql: UserErasure.orphanedSharedContent(app: "?"), arguments: [app.rawValue])
            return (messages, items)
        }
    }

    public func expireJourneyContent(of app: AppID, before cutoff: Date, limit: Int) async throws -> (events: Int, runs: Int, digests: Int) {
        let before = WireTime.milliseconds(cutoff)
        return try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM customerEvent WHERE rowid IN (SELECT rowid FROM customerEvent WHERE appID = ? AND recordedAt < ? LIMIT ?)",
                arguments: [app.rawValue, before, limit])
            let events = db.changesCount
            try db.execute(
                sql: """
                    UPDATE journeyRun SET sealedContext = NULL, revision = revision + 1
                    WHERE rowid IN (
                        SELECT rowid FROM journeyRun WHERE appID = ? AND endedAt < ? AND sealedContext IS NOT NULL AND endedAt IS NOT NULL LIMIT ?)
                    """, arguments: [app.rawValue, before, limit])
            let runs = db.changesCount
            try db.execute(
                sql: """
                    DELETE FROM journeyDigest WHERE rowid IN (
                        SELECT rowid FROM journeyDigest WHERE appID = ? AND createdAt < ? AND status IN \(JourneyRules.finishedDigestStatuses) LIMIT ?)
                    """, arguments: [app.rawValue, before, limit])
            return (events, runs, db.changesCount)
        }
    }
}
