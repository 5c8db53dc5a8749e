import Foundation
public import HeraldStore

/// The PostgreSQL server the tests run on: `HERALD_TEST_POSTGRES_URL` names a database on it whose user
/// may create databases (`scripts/test.sh` starts a throwaway cluster and sets it).
public enum PostgresTestServer {
    public struct Missing: Error, CustomStringConvertible {
        public var description: String {
            "the PostgreSQL tests need a server: run scripts/test.sh (which starts one), or set HERALD_TEST_POSTGRES_URL"
        }
    }

    public static func url() throws -> PostgresURL {
        guard let text = ProcessInfo.processInfo.environment["HERALD_TEST_POSTGRES_URL"] else { throw Missing() }
        return try PostgresURL(text)
    }

    /// A new, empty content database and its key database, with a way to drop both.
    public static func freshDatabase() async throws -> (url: PostgresURL, drop: @Sendable () async -> Void) {
        let server = try url()
        let url = server.with(database: "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())
        try await PostgresAdmin.createDatabases(for: url, via: server)
        return (url, { try? await PostgresAdmin.dropDatabases(for: url, via: server) })
    }
}
