public import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {
    /// `SKIP LOCKED` in both batches, so retention on several nodes at once never waits on (or fights
    /// over) the same rows, and never holds up a sender of the same channel for long.
    public func expireContent(of app: AppID, createdBefore cutoff: Date, limit: Int) async throws -> (messages: Int, inboxItems: Int) {
        let before = WireTime.milliseconds(cutoff)
        let time = nowMilliseconds()
        return try await database.transaction { connection in
            let messages = try await connection.rows(
                """
                UPDATE message SET sealed = NULL, deletedAt = \(time)
                WHERE id IN (
                    SELECT message.id FROM message JOIN channel ON channel.id = message.channelID
                    WHERE message.createdAt < \(before) AND message.deletedAt IS NULL AND channel.appID = \(app)
                    LIMIT \(Int64(limit)) FOR UPDATE OF message SKIP LOCKED)
                RETURNING 1
                """
            ).count
            let items = try await connection.rows(
                """
                DELETE FROM inboxItem WHERE position IN (
                    SELECT position FROM inboxItem WHERE appID = \(app) AND createdAt < \(before) LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
                RETURNING 1
                """
            ).count
            try await connection.execute(PostgresQuery(unsafeSQL: UserErasure.orphanedSharedContent(app: "$1"), binds: Self.bindings(app)))
            return (messages, items)
        }
    }

    public func expireJourneyContent(of app: AppID, before cutoff: Date, limit: Int) async throws -> (events: Int, runs: Int, digests: Int) {
        let before = WireTime.milliseconds(cutoff)
        return try await database.transaction { connection in
            let events = try await connection.rows(
                """
                DELETE FROM customerEvent WHERE id IN (
                    SELECT id FROM customerEvent WHERE appID = \(app) AND recordedAt < \(before) LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
                RETURNING 1
                """
            ).count
            let runs = try await connection.rows(
                """
                UPDATE journeyRun SET sealedContext = NULL, revision = revision + 1
                WHERE id IN (
                    SELECT id FROM journeyRun WHERE appID = \(app) AND endedAt < \(before) AND sealedContext IS NOT NULL AND endedAt IS NOT NULL
                    LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
                RETURNING 1
                """
            ).count
            let digests = try await connection.rows(
                """
                DELETE FROM journeyDigest WHERE id IN (
                    SELECT id FROM journeyDigest WHERE appID = \(app) AND createdAt < \(before) AND status IN \(unescaped: JourneyRules.finishedDigestStatuses)
                    LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
                RETURNING 1
                """
            ).count
            return (events, runs, digests)
        }
    }
}
