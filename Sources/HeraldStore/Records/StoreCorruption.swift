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

    private init(description: String) { self.description = description }

    /// A row whose columns do not decode into their types; said without any of its values.
    static let undecodableRow = StoreCorruption(description: "a stored row does not decode (it was written outside Herald, or by another version)")
}
