import Crypto
public import Foundation

/// The key at the top of encryption at rest: it wraps each app's key-encryption key and the audit key
/// in the key store (see `KeyRing`). 32 random bytes, kept outside both databases: `DIR/master.key`
/// (mode 0600, base64 text) or `HERALD_MASTER_KEY`.
public struct MasterKey: Sendable {
    private let key: SymmetricKey

    public init(bytes: some ContiguousBytes) throws(HeraldError) {
        let key = SymmetricKey(data: bytes)
        guard key.bitCount == 256 else { throw .invalid(field: "masterKey", .invalidValue, detail: "32 bytes") }
        self.key = key
    }

    /// Parses the base64 text of the key file or environment variable.
    public init(base64: String) throws(HeraldError) {
        guard let data = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else {
            throw .invalid(field: "masterKey", .invalidValue, detail: "the master key must be 32 bytes, base64")
        }
        try self.init(bytes: data)
    }

    public static func generate() -> MasterKey {
        try! MasterKey(bytes: SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
    }

    public var base64: String { key.withUnsafeBytes { Data($0).base64EncodedString() } }

    /// AES-256-GCM with `context` as associated data, so a sealed value cannot be moved to another row.
    public func seal(_ plaintext: Data, context: String) throws -> Data {
        try AES.GCM.seal(plaintext, using: key, authenticating: Data(context.utf8)).combined!
    }

    public func open(_ sealed: Data, context: String) throws -> Data {
        try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key, authenticating: Data(context.utf8))
    }
}

extension MasterKey {
    /// HMAC-SHA256 of a fixed label under the key: tells which key a key store belongs to, reveals nothing
    /// of the key.
    public var fingerprint: Data {
        Data(HMAC<SHA256>.authenticationCode(for: Data("herald master key check v1".utf8), using: key))
    }
}
