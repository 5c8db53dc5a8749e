import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func eraseUser(_ user: UserID, in app: AppID) async throws -> Bool {
        let exists = try await pool.read { db in try UserRecord.exists(db, key: ["appID": app.rawValue, "id": user.rawValue]) }
        guard exists else { return false }
        // First the point of no return: once the key is gone, nothing of theirs opens, here or in any copy.
        try await keys.destroyKey(of: user, in: app)
        // Then the rows, so the live database does not even keep the ciphertext. Running this again after
        // a crash finishes the job.
        try await pool.write { db in
            let arguments: StatementArguments = [app.rawValue, user.rawValue]
            try db.execute(
                sql: """
                    UPDATE message SET sealed = NULL
                    WHERE sender = ? AND channelID IN (SELECT id FROM channel WHERE appID = ?)
                    """, arguments: [user.rawValue, app.rawValue])
            try db.execute(
                sql: "DELETE FROM outbox WHERE kind = '\(OutboxKind.push.rawValue)' AND subjectID IN (SELECT id FROM inboxItem WHERE appID = ? AND userID = ?)", arguments: arguments)
            for statement in [
                "DELETE FROM inboxItem WHERE appID = ? AND userID = ?",
                "DELETE FROM outbox WHERE appID = ? AND userID = ?",
                "DELETE FROM idempotencyKey WHERE appID = ? AND userID = ?",
                "DELETE FROM userTokenEpoch WHERE appID = ? AND userID = ?",
                "DELETE FROM device WHERE appID = ? AND userID = ?",
                "DELETE FROM actionChallenge WHERE appID = ? AND userID = ?",
                "DELETE FROM channelMember WHERE appID = ? AND userID = ?",
                "DELETE FROM consentChange WHERE appID = ? AND userID = ?",
                "DELETE FROM pushDelivery WHERE appID = ? AND userID = ?",
                "DELETE FROM userTag WHERE appID = ? AND userID = ?",
                "DELETE FROM user WHERE appID = ? AND id = ?",
            ] {
                try db.execute(sql: statement, arguments: arguments)
            }
        }
        return true
    }

    public func userIsActive(_ user: UserID, in app: AppID) async throws -> Bool {
        try keys.key(.user(user), in: app) != nil
    }
}
