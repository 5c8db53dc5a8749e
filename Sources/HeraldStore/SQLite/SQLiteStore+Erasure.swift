import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func eraseUser(_ user: UserID, in app: AppID) async throws -> Bool {
        let exists = try await pool.read { db in try UserRecord.exists(db, key: ["appID": app.rawValue, "id": user.rawValue]) }
        guard exists else { return false }
        // In `UserErasure`'s order.
        try await keys.destroyKey(of: user, in: app)
        // The windows of recent pages hold the user's messages opened: they go with the key, not only
        // when the write below commits (which may wait for the writer, or fail and leave the key gone).
        recentMessages.forgetAll()
        inboxPages.forget([AppUser(app: app, user: user)])
        try await pool.write { db in
            let arguments: StatementArguments = [app.rawValue, user.rawValue]
            try db.execute(
                sql: """
                    UPDATE message SET sealed = NULL
                    WHERE sender = ? AND channelID IN (SELECT id FROM channel WHERE appID = ?)
                    """, arguments: [user.rawValue, app.rawValue])
            try db.execute(
                sql: "DELETE FROM outbox WHERE kind = '\(OutboxKind.push.rawValue)' AND subjectID IN (SELECT id FROM inboxItem WHERE appID = ? AND userID = ?)", arguments: arguments)
            try db.execute(sql: UserErasure.journeySteps(app: "?", user: "?"), arguments: arguments)
            for table in UserErasure.tables { try db.execute(sql: "DELETE FROM \(table) WHERE appID = ? AND userID = ?", arguments: arguments) }
            try db.execute(sql: UserErasure.orphanedSharedContent(app: "?"), arguments: [app.rawValue])
            try db.execute(sql: "DELETE FROM user WHERE appID = ? AND id = ?", arguments: arguments)
        }
        return true
    }

    public func userIsActive(_ user: UserID, in app: AppID) async throws -> Bool {
        try keys.key(.user(user), in: app) != nil
    }
}
