import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// One PostgreSQL database: PostgresNIO's connection pool, run by a task this object owns from `init`
/// to `close`.
///
/// The pool runs in an unstructured task because a store is opened and closed by callers of every kind
/// (commands, tests, the server), not inside one service group; `close` cancels and awaits it, so
/// nothing outlives the store.
final class PostgresDatabase: Sendable {
    let url: PostgresURL
    let client: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>

    init(_ url: PostgresURL, maximumConnections: Int = 20, logger: Logger = PostgresDatabase.quietLogger) {
        let tls: PostgresClient.Configuration.TLS =
            switch url.tls {
            case .disable: .disable
            case .prefer: .prefer(.makeClientConfiguration())
            case .require: .require(.makeClientConfiguration())
            }
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: tls)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.minimumConnections = 0
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.url = url
        self.client = client
        self.logger = logger
        self.runner = Task { await client.run() }
    }

    static let quietLogger = Logger(label: "herald.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    func close() async {
        runner.cancel()
        await runner.value
    }

    /// Runs `body` in one transaction (READ COMMITTED), committed when it returns.
    ///
    /// A deadlock or serialization failure (which PostgreSQL resolves by aborting one side) is retried a
    /// few times, so `body` must be safe to run again: all it changes must be in the transaction.
    func transaction<Result: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        var attempt = 0
        while true {
            do {
                return try await client.withConnection { connection in try await Self.inTransaction(connection, body) }
            } catch let error as PSQLError where attempt < 5 && (error.sqlState == "40001" || error.sqlState == "40P01") {
                attempt += 1
            }
        }
    }

    /// `transaction`, in a task of its own, so that the cancellation of the calling task (a group
    /// commit's leader, whose batch belongs to many callers) cannot abort it halfway.
    func uncancellableTransaction<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try await Task { try await self.transaction(body) }.value
    }

    /// BEGIN, `body`, COMMIT; ROLLBACK when `body` throws, whose error is rethrown as it is (PostgresNIO's
    /// own `withTransaction` wraps it, which would hide a `HeraldError` from the caller).
    private static func inTransaction<Result>(_ connection: PostgresConnection, _ body: @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try await connection.execute("BEGIN")
        let value: Result
        do {
            value = try await body(connection)
        } catch {
            try? await connection.execute("ROLLBACK")
            throw error
        }
        try await connection.execute("COMMIT")
        return value
    }

    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await client.query(query, logger: logger).collect()
    }
}

/// What both a pooled client and a connection in a transaction can run.
protocol PostgresQueryRunner: Sendable {
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow]
}

extension PostgresDatabase: PostgresQueryRunner {}

extension PostgresConnection: PostgresQueryRunner {
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await self.query(query, logger: PostgresDatabase.quietLogger).collect()
    }
}

extension PostgresQueryRunner {
    /// Runs a statement whose rows (if any) are not needed.
    func execute(_ query: PostgresQuery) async throws {
        _ = try await rows(query)
    }

    /// The first column of the first row, nil when there is no row.
    func value<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type = T.self) async throws -> T? {
        try await rows(query).first?.decode(T.self)
    }

    /// The first column of every row.
    func values<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type = T.self) async throws -> [T] {
        try await rows(query).map { try $0.decode(T.self) }
    }
}

extension PSQLError {
    /// The SQLSTATE of a server error (`23505` unique violation, `40P01` deadlock), nil for a client error.
    var sqlState: String? { serverInfo?[.sqlState] }
}
