import Crypto
public import Foundation
import Synchronization

/// A 256-bit AES-GCM key that seals content at rest: one per app (for what the business owns) and one
/// per user (for what is about that user), each stored only wrapped (see `KeyRing` in HeraldStore).
///
/// Every sealed value carries its row's identity as associated data, so a ciphertext copied into another
/// row, or another user's row, does not open.
public struct DataKey: Sendable {
    private let key: SymmetricKey
    /// The HKDF subkeys of `tag`, by purpose, derived once per key: deriving anew made each tag four
    /// HMACs instead of one, on every message written with an idempotency key.
    private let tagKeys = TagKeys()

    /// The first byte of every sealed value: lets a later format coexist with this one.
    static let formatVersion: UInt8 = 1

    public init(bytes: some ContiguousBytes) throws(HeraldError) {
        let key = SymmetricKey(data: bytes)
        guard key.bitCount == 256 else { throw .invalid(field: "dataKey", .invalidValue, detail: "32 bytes") }
        self.key = key
    }

    public static func generate() -> DataKey {
        try! DataKey(bytes: SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
    }

    func withSymmetricKey<Result>(_ body: (SymmetricKey) -> Result) -> Result { body(key) }

    /// Whether `other` is this very key value (the same instance a key ring handed out), without
    /// comparing secrets: a key loaded again, or a new key for a re-created owner, is not. For a cheap
    /// check that what was sealed ahead still matches the key a later check finds.
    public func isSameInstance(as other: DataKey) -> Bool { tagKeys === other.tagKeys }

    /// The raw key, only to be wrapped by the key above it.
    public var rawBytes: Data { key.withUnsafeBytes { Data($0) } }

    public func seal(_ plaintext: Data, context: String) throws -> Data {
        var sealed = Data([Self.formatVersion])
        sealed.append(try AES.GCM.seal(plaintext, using: key, authenticating: Data(context.utf8)).combined!)
        return sealed
    }

    /// - Throws: when the value was sealed with another key or another context, or was changed.
    public func open(_ sealed: Data, context: String) throws -> Data {
        guard sealed.first == Self.formatVersion else { throw CryptoKitError.authenticationFailure }
        return try AES.GCM.open(AES.GCM.SealedBox(combined: sealed.dropFirst()), using: key, authenticating: Data(context.utf8))
    }

    public func seal<Value: Encodable>(json value: Value, context: String) throws -> Data {
        try seal(JSONEncoder().encode(value), context: context)
    }

    public func open<Value: Decodable>(json sealed: Data, as type: Value.Type, context: String) throws -> Value {
        try JSONDecoder().decode(type, from: open(sealed, context: context))
    }
}

extension DataKey {
    /// A keyed hash (HMAC-SHA256 under a subkey derived with HKDF) that lets equal values be found
    /// without storing them: a blind index. Equal inputs give equal tags; a tag reveals nothing else.
    public func tag(_ value: Data, purpose: String) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: value, using: subkey(for: purpose)))
    }

    /// The same tags as `tag(_:purpose:)`, for many values in a row: the HMAC's keyed state is set up
    /// once, and each value only copies it (a fan-out binds 1,000 rows a page).
    public func tagger(purpose: String) -> Tagger {
        Tagger(keyed: HMAC<SHA256>(key: subkey(for: purpose)))
    }

    /// Tags of one purpose under one key; a value type, so each tag starts from the same keyed state.
    public struct Tagger: Sendable {
        fileprivate let keyed: HMAC<SHA256>

        /// The tag of the concatenation of `parts`, each followed by `separator` (a byte none of them holds).
        /// The parts are gathered into one buffer first: swift-crypto's `update` is generic over
        /// `DataProtocol` and unspecialized here, so each call costs several metadata lookups.
        public func tag(_ parts: some Sequence<String>, separator: UInt8) -> Data {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(256)
            var first = true
            for part in parts {
                if !first { bytes.append(separator) }
                first = false
                bytes.append(contentsOf: part.utf8)
            }
            var hmac = keyed
            hmac.update(data: bytes)
            return Data(hmac.finalize())
        }
    }

    private func subkey(for purpose: String) -> SymmetricKey {
        tagKeys.subkey(for: purpose) {
            HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Data("herald tag \(purpose)".utf8), outputByteCount: 32)
        }
    }
}

/// A key's derived tag subkeys (a handful of purposes, so no bound is needed).
private final class TagKeys: Sendable {
    private let subkeys = Mutex<[String: SymmetricKey]>([:])

    func subkey(for purpose: String, derive: () -> SymmetricKey) -> SymmetricKey {
        if let known = subkeys.withLock({ $0[purpose] }) { return known }
        let derived = derive()
        subkeys.withLock { $0[purpose] = derived }
        return derived
    }
}
