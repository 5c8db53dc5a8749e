import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {
    public func eraseUser(_ user: UserID, in app: AppID) async throws -> Bool {
        guard try await database.value("SELECT 1 FROM \"user\" WHERE appID = \(app) AND id = \(user)", as: Int.self) != nil else {
            return false
        }
        // First the point of no return: once the key is gone, nothing of theirs opens, here or in any copy.
        try await keys.destroyKey(of: user, in: app)
        // Then the rows, so the live database does not even keep the ciphertext. Running this again after
        // a crash finishes the job.
        try await database.transaction { connection in
            try await connection.execute(
                "UPDATE message SET sealed = NULL WHERE sender = \(user) AND channelID IN (SELECT id FROM channel WHERE appID = \(app))")
            try await connection.execute(
                """
                DELETE FROM outbox WHERE kind = \(OutboxKind.push) AND subjectID IN (SELECT id FROM inboxItem WHERE appID = \(app) AND userID = \(user))
                """)
            for table in ["inboxItem", "outbox", "idempotencyKey", "userTokenEpoch", "device", "actionChallenge", "channelMember", "consentChange", "pushDelivery", "userTag"] {
                try await connection.execute(PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE appID = $1 AND userID = $2", binds: Self.bindings(app.rawValue, user.rawValue)))
            }
            try await connection.execute("DELETE FROM \"user\" WHERE appID = \(app) AND id = \(user)")
        }
        return true
    }

    public func userIsActive(_ user: UserID, in app: AppID) async throws -> Bool {
        try await keys.key(.user(user), in: app) != nil
    }

    static func bindings(_ values: String...) -> PostgresBindings {
        var bindings = PostgresBindings()
        for value in values { bindings.append(value) }
        return bindings
    }
}
