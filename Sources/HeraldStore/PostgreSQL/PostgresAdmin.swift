import PostgresNIO

/// Creating and dropping Herald's databases on a server, for provisioning (`herald store copy` into a
/// new server) and for tests. Needs a user with the CREATEDB privilege.
public enum PostgresAdmin {
    /// Creates `url`'s database and its key database (`NAME_keys`), connecting through `server`, an
    /// existing database on the same server. Databases that already exist are left as they are.
    public static func createDatabases(for url: PostgresURL, via server: PostgresURL) async throws {
        try await withDatabase(server) { database in
            let existing = Set(try await database.values("SELECT datname FROM pg_database", as: String.self))
            for name in [url.database, url.database + "_keys"] where !existing.contains(name) {
                try await database.execute(PostgresQuery(unsafeSQL: "CREATE DATABASE \(try identifier(name))"))
            }
        }
    }

    /// Drops `url`'s database and its key database, connecting through `server`.
    public static func dropDatabases(for url: PostgresURL, via server: PostgresURL) async throws {
        try await withDatabase(server) { database in
            for name in [url.database, url.database + "_keys"] {
                try await database.execute(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(try identifier(name)) WITH (FORCE)"))
            }
        }
    }

    /// Creates a login role with `password` (or sets the password of the existing one), connecting through
    /// `server`. Names and passwords are limited to letters, digits and `_`.
    public static func ensureLoginRole(_ name: String, password: String, via server: PostgresURL) async throws {
        guard password.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw PostgresURL.Invalid(description: "role passwords here are letters, digits and _")
        }
        let role = try identifier(name)
        try await withDatabase(server) { database in
            try await database.execute(
                PostgresQuery(
                    unsafeSQL: """
                        DO $$ BEGIN CREATE ROLE \(role) LOGIN PASSWORD '\(password)';
                        EXCEPTION WHEN duplicate_object THEN ALTER ROLE \(role) LOGIN PASSWORD '\(password)'; END $$
                        """))
        }
    }

    /// Ends every session of `url`'s database that is listening for notifications, as a restart of the
    /// server would (for tests of how nodes recover their feed).
    public static func terminateListeners(on url: PostgresURL) async throws {
        try await withDatabase(url) { database in
            try await database.execute(
                """
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = \(url.database) AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'
                """)
        }
    }

    private static func withDatabase(_ url: PostgresURL, _ body: (PostgresDatabase) async throws -> Void) async throws {
        let database = PostgresDatabase(url, maximumConnections: 1)
        do {
            try await body(database)
            await database.close()
        } catch {
            await database.close()
            throw error
        }
    }

    /// A database name quoted as an identifier; names are limited to a safe alphabet rather than escaped.
    private static func identifier(_ name: String) throws -> String {
        guard !name.isEmpty, name.count <= 63, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw PostgresURL.Invalid(description: "a database name is letters, digits and _ (at most 63): \(name)")
        }
        return "\"\(name)\""
    }
}
