import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {
    public func eraseUser(_ user: UserID, in app: AppID) async throws -> Bool {
        guard try await database.value("SELECT 1 FROM \"user\" WHERE appID = \(app) AND id = \(user)", as: Int.self) != nil else {
            return false
        }
        // In `UserErasure`'s order.
        try await keys.destroyKey(of: user, in: app)
        try await database.transaction { connection in
            // The user's row first: a fan-out writing to them (which holds it `FOR KEY SHARE`) either
            // commits before, and its items are deleted below, or waits and then finds no user.
            try await connection.execute("SELECT 1 FROM \"user\" WHERE appID = \(app) AND id = \(user) FOR UPDATE")
            try await connection.execute(
                "UPDATE message SET sealed = NULL WHERE sender = \(user) AND channelID IN (SELECT id FROM channel WHERE appID = \(app))")
            try await connection.execute(
                """
                DELETE FROM outbox WHERE kind = \(OutboxKind.push) AND subjectID IN (SELECT id FROM inboxItem WHERE appID = \(app) AND userID = \(user))
                """)
            var stepBinds = PostgresBindings()
            try stepBinds.append(app)
            try stepBinds.append(user)
            try await connection.execute(PostgresQuery(unsafeSQL: UserErasure.journeySteps(app: "$1", user: "$2"), binds: stepBinds))
            for table in UserErasure.tables {
                var binds = PostgresBindings()
                try binds.append(app)
                try binds.append(user)
                try await connection.execute(PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE appID = $1 AND userID = $2", binds: binds))
            }
            try await connection.execute(PostgresQuery(unsafeSQL: UserErasure.orphanedSharedContent(app: "$1"), binds: Self.bindings(app)))
            try await connection.execute("DELETE FROM \"user\" WHERE appID = \(app) AND id = \(user)")
        }
        return true
    }

    public func userIsActive(_ user: UserID, in app: AppID) async throws -> Bool {
        try await keys.key(.user(user), in: app) != nil
    }
}

extension PostgresStore {
    /// Bindings of one app id as `$1`, for SQL shared with SQLite.
    static func bindings(_ app: AppID) -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(app.rawValue)
        return binds
    }
}
