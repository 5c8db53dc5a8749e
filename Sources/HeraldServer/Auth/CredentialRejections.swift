import Foundation
import HeraldCore
import HeraldStore
import Logging
import ServiceLifecycle
import Synchronization

/// Rejected credentials: a limit per client address, checked before any store work, and an audit
/// trail of rejections that never stands in the way of real audit writes.
///
/// Each rejected `hk_` key used to be an fsync'd audit insert, on the committer that carries every real
/// audit event, before any rate limit: an anonymous client could flood the writer. Now:
/// - an address that failed `burst` times (refilled at `perMinute`) gets 429 for its next credentials
///   without them being looked at (`retryAfter`), also at the realtime gateway's `auth` frame;
/// - rejections are counted in memory, one entry per actor (the key's public id, or `anonymous`) and
///   minute, and written by this service as one `credential.rejected` event per entry with the count,
///   after the minute ends (and at shutdown). At most `maxPending` entries wait; beyond that,
///   rejections are counted in one `anonymous` entry.
/// Failed authentications allowed per client address (see `CredentialRejections`).
public struct CredentialFailureLimits: Sendable {
    public var burst: Double = 20
    public var perMinute: Double = 20

    public init() {}
}

final class CredentialRejections: Service, Sendable {
    private struct Key: Hashable {
        /// The key's public id, nil for a credential that named none (a malformed key, a user token).
        var keyID: String?
        var minute: Int64
    }

    private struct Entry {
        var count: Int
        var firstPath: String
        var lastAddress: ClientAddress
    }

    let limits: CredentialFailureLimits
    let maxPending: Int
    private let store: any AppStore & AuditStore
    private let now: @Sendable () -> Date
    private let logger: Logger
    private let failures: RateLimiter
    private let pending = Mutex<[Key: Entry]>([:])

    init(store: any AppStore & AuditStore, limits: CredentialFailureLimits = CredentialFailureLimits(), maxPending: Int = 10_000, now: @escaping @Sendable () -> Date, logger: Logger) {
        self.store = store
        self.limits = limits
        self.maxPending = maxPending
        self.now = now
        self.logger = logger
        let budget = RateLimiter.Limits(rate: limits.perMinute / 60, burst: limits.burst)
        failures = RateLimiter(platform: budget, user: budget, now: { now().timeIntervalSince1970 })
    }

    /// Seconds the address must wait before its credentials are looked at again; nil when it may go on.
    func retryAfter(for address: ClientAddress) -> Int? {
        failures.available(key: address.description, limits: failures.user)
    }

    enum Credential {
        /// An `hk_` key: its public id, nil when the key was malformed.
        case apiKey(keyID: String?)
        /// A user token (counted against the address, not audited: a token names no API key).
        case userToken
    }

    /// Counts a rejected credential from `address`: against the address's budget, and for the audit
    /// trail when it was an API key.
    func record(_ credential: Credential, from address: ClientAddress, path: String) {
        _ = failures.take(key: address.description, limits: failures.user)
        guard case .apiKey(let keyID) = credential else { return }
        let minute = Int64(now().timeIntervalSince1970 / 60)
        pending.withLock { pending in
            var key = Key(keyID: keyID, minute: minute)
            if pending[key] == nil, pending.count >= maxPending { key.keyID = nil }
            pending[key, default: Entry(count: 0, firstPath: path, lastAddress: address)].count += 1
            pending[key]?.lastAddress = address
        }
    }

    func run() async throws {
        await WorkerLoop.run(every: .seconds(10), logger: logger, name: "credential rejections") {
            await flush(all: false)
            return 0
        }
        await flush(all: true)
    }

    /// Writes the entries of minutes that have ended (every entry when `all`).
    func flush(all: Bool) async {
        let current = Int64(now().timeIntervalSince1970 / 60)
        let due = pending.withLock { pending -> [(Key, Entry)] in
            let due = pending.filter { all || $0.key.minute < current }
            for key in due.keys { pending[key] = nil }
            return due.sorted { ($0.key.minute, $0.key.keyID ?? "") < ($1.key.minute, $1.key.keyID ?? "") }
        }
        for (key, entry) in due {
            do {
                let app = try await key.keyID.asyncFlatMap { try await store.app(withKeyID: $0) }
                let minute = WireTime.format(Date(timeIntervalSince1970: TimeInterval(key.minute * 60)))
                try await store.recordAudit(
                    NewAuditEvent(
                        chain: app.map(AuditChain.app) ?? .operator, actor: key.keyID.map { "platform:\($0)" } ?? "anonymous", action: "credential.rejected",
                        target: "\(entry.firstPath) (\(entry.count) in the minute from \(minute), last from \(entry.lastAddress))"))
            } catch {
                logger.error("rejected credentials not recorded", metadata: ["count": "\(entry.count)", "error": "\(String(reflecting: type(of: error)))"])
            }
        }
    }
}

extension Optional {
    fileprivate func asyncFlatMap<T>(_ transform: (Wrapped) async throws -> T?) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
