import GRDB

/// The embedded store's `DatabasePool`, with one change at its edge: a row that does not decode throws
/// `StoreCorruption`, which names no value. GRDB's own `RowDecodingError` quotes the whole row, and a
/// row can hold a push token or a Web Push key: that text must not reach a log or an outbox row.
struct SQLitePool: Sendable {
    let raw: DatabasePool

    func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        try await Self.mappingDecodeErrors { try await raw.read(body) }
    }

    func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        try await Self.mappingDecodeErrors { try await raw.write(body) }
    }

    func writeWithoutTransaction<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        try await Self.mappingDecodeErrors { try await raw.writeWithoutTransaction(body) }
    }

    func close() throws { try raw.close() }

    static func mappingDecodeErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch is RowDecodingError {
            throw StoreCorruption.undecodableRow
        }
    }

    static func mappingDecodeErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch is RowDecodingError {
            throw StoreCorruption.undecodableRow
        }
    }
}
