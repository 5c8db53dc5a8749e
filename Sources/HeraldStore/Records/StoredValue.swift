import HeraldCore

/// A stored row or value that does not decode: written by something other than Herald, or by a version
/// that knew values this one does not. It is an error, never a default (a category read as
/// `transactional` by default would skip the marketing consent check; a sender that does not decode
/// must not make a customer's message read as the business's).
public struct StoreCorruption: Error, CustomStringConvertible {
    public var description: String

    init(table: String, id: String) {
        description = "unreadable row \(id) in \(table)"
    }

    init(column: String) {
        description = "a stored \(column) does not decode (the row was altered outside Herald)"
    }
}

enum StoredValue {
    /// The identifier or enum stored as `raw` in `column`.
    /// - Throws: `StoreCorruption` when `raw` is not a valid value of `T`.
    static func decode<T: RawRepresentable>(_ raw: String, as type: T.Type = T.self, column: String) throws -> T where T.RawValue == String {
        guard let value = T(rawValue: raw) else { throw StoreCorruption(column: column) }
        return value
    }

    /// Every value of a stored list (member ids, recipients), or an error naming the column.
    static func decodeAll<T: RawRepresentable>(_ raws: [String], as type: T.Type = T.self, column: String) throws -> [T] where T.RawValue == String {
        try raws.map { try decode($0, as: T.self, column: column) }
    }
}
