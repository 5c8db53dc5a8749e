import Foundation
import HeraldCore
import HeraldStore
import Synchronization

/// Signs what the business sends (inbox items, messages as the app) with the app's current key.
///
/// Keys are unsealed once and kept in memory, because a send to 100,000 users signs 100,000 payloads
/// and must not open the key each time. A rotation through this process replaces the cached key at
/// once. (With several nodes, issue "cluster", another node's rotation is seen after `refreshInterval`.)
final class BusinessSigner: Sendable {
    private struct Entry {
        var key: SigningKey
        var loadedAt: Date
    }

    private let store: any SigningKeyStore
    private let now: @Sendable () -> Date
    private let refreshInterval: TimeInterval
    private let cache = Mutex<[AppID: Entry]>([:])

    init(store: any SigningKeyStore, now: @escaping @Sendable () -> Date, refreshInterval: TimeInterval = 60) {
        self.store = store
        self.now = now
        self.refreshInterval = refreshInterval
    }

    /// The key that signs the app's new content.
    func currentKey(of app: AppID) async throws -> SigningKey {
        let time = now()
        if let entry = cache.withLock({ $0[app] }), time.timeIntervalSince(entry.loadedAt) < refreshInterval { return entry.key }
        let key = try await store.signingKeys(of: app)[0]
        cache.withLock { $0[app] = Entry(key: key, loadedAt: time) }
        return key
    }

    /// The published key set: every key of the app, newest first.
    func keySet(of app: AppID) async throws -> JWKSet {
        JWKSet(keys: try await store.signingKeys(of: app).map(\.publicJWK))
    }

    func rotate(_ app: AppID) async throws -> SigningKey {
        let key = try await store.rotateSigningKey(of: app)
        cache.withLock { $0[app] = Entry(key: key, loadedAt: now()) }
        return key
    }

    /// A signer for a business message, for the store to call once the message has its id and time.
    func messageSigner(for app: AppID) async throws -> MessageSigner {
        let key = try await currentKey(of: app)
        return { message in key.sign(payload: message.signedPayload(app: app)) }
    }
}
