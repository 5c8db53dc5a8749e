import Foundation
import HeraldCore

/// How keys are wrapped, shared by every key store (the embedded `KeyRing` and PostgreSQL's
/// `PostgresKeyRing`), so a key copied from one to the other byte for byte opens the same way.
///
/// The master key wraps each app's key-encryption key; that key wraps the app's data keys. Each wrap
/// carries associated data naming what it is, so a wrapped key moved to another row does not open.
enum KeyEnvelope {

    static func wrapAppKey(_ key: DataKey, app: AppID, masterKey: MasterKey) throws -> Data {
        try masterKey.seal(key.rawBytes, context: SealingContext.appKey(app))
    }

    static func unwrapAppKey(_ wrapped: Data, app: AppID, masterKey: MasterKey) throws -> DataKey {
        do {
            return try DataKey(bytes: masterKey.open(wrapped, context: SealingContext.appKey(app)))
        } catch {
            throw KeyRing.Failure.unreadableKey("app \(app)")
        }
    }

    static func wrap(_ key: DataKey, owner: KeyOwner, app: AppID, wrappingKey: DataKey) throws -> Data {
        try wrappingKey.seal(key.rawBytes, context: SealingContext.dataKey(app: app, ownerColumn: owner.column))
    }

    static func unwrap(_ wrapped: Data, owner: KeyOwner, app: AppID, wrappingKey: DataKey) throws -> DataKey {
        do {
            return try DataKey(bytes: wrappingKey.open(wrapped, context: SealingContext.dataKey(app: app, ownerColumn: owner.column)))
        } catch {
            throw KeyRing.Failure.unreadableKey("\(owner.column) of app \(app)")
        }
    }

    static func wrapAuditKey(_ key: DataKey, masterKey: MasterKey) throws -> Data {
        try masterKey.seal(key.rawBytes, context: SealingContext.auditKey)
    }

    static func unwrapAuditKey(_ wrapped: Data, masterKey: MasterKey) throws -> DataKey {
        do { return try DataKey(bytes: masterKey.open(wrapped, context: SealingContext.auditKey)) } catch { throw KeyRing.Failure.unreadableKey("audit key") }
    }

    /// A wrapped data key, wrapped again under `newWrappingKey` (a master key rotation gives each app a
    /// fresh key-encryption key); the data key itself does not change, so no content is re-encrypted.
    static func rewrap(_ wrapped: Data, app: AppID, ownerColumn: String, from oldWrappingKey: DataKey, to newWrappingKey: DataKey) throws -> Data {
        let context = SealingContext.dataKey(app: app, ownerColumn: ownerColumn)
        return try newWrappingKey.seal(try oldWrappingKey.open(wrapped, context: context), context: context)
    }

    /// A value that tells which master key a store belongs to without revealing the key.
    static func check(_ key: MasterKey) -> Data {
        key.fingerprint
    }
}
