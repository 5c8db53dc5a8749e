import PostgresNIO

/// Reads a row shape from `Records/` out of a PostgreSQL row through its `Decodable` conformance, the
/// same one GRDB uses on SQLite: one mapping per record for both dialects, matched by column name
/// (PostgreSQL folds unquoted names to lower case), not by position. Each field's type decodes with
/// PostgresNIO (`StoredText` ids and enums, numbers, text, bytes); a missing column or a value that
/// does not decode throws.
extension Decodable {
    init(postgres row: PostgresRow) throws {
        try self.init(from: PostgresRowDecoder(row: row.makeRandomAccess()))
    }
}

private struct PostgresRowDecoder: Decoder {
    let row: PostgresRandomAccessRow
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Columns<Key>(row: row))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw Self.unsupported }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { throw Self.unsupported }

    static let unsupported = DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "a row decodes only into a keyed record"))

    private struct Columns<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let row: PostgresRandomAccessRow
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { [] }

        func contains(_ key: Key) -> Bool { row.contains(key.stringValue.lowercased()) }

        func decodeNil(forKey key: Key) throws -> Bool { try cell(key).bytes == nil }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            guard let decodable = T.self as? any PostgresDecodable.Type else {
                throw DecodingError.typeMismatch(T.self, .init(codingPath: [key], debugDescription: "not a PostgreSQL column type"))
            }
            return try decodeCell(decodable, key: key) as! T
        }

        private func decodeCell<D: PostgresDecodable>(_ type: D.Type, key: Key) throws -> D {
            try cell(key).decode(D.self)
        }

        private func cell(_ key: Key) throws -> PostgresCell {
            guard contains(key) else { throw DecodingError.keyNotFound(key, .init(codingPath: [], debugDescription: "no such column")) }
            return row[key.stringValue.lowercased()]
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            throw PostgresRowDecoder.unsupported
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { throw PostgresRowDecoder.unsupported }
        func superDecoder() throws -> any Decoder { throw PostgresRowDecoder.unsupported }
        func superDecoder(forKey key: Key) throws -> any Decoder { throw PostgresRowDecoder.unsupported }
    }
}
