import Foundation
import HeraldCore
import Synchronization

/// Token buckets per API key (per app) and per user, shared by every request of this server.
///
/// A `Mutex` rather than an actor: taking a token is a few arithmetic steps, and requests must not
/// queue behind each other for it. The map is bounded: past `maxBuckets`, the buckets idle longest
/// are dropped (a dropped bucket comes back full, which only forgives an idle caller).
final class RateLimiter: Sendable {
    struct Limits: Sendable, Equatable {
        var rate: Double
        var burst: Double
    }

    private struct Entry {
        var bucket: TokenBucket
        var lastUsed: Double
    }

    let platform: Limits
    let user: Limits
    let maxBuckets: Int
    private let buckets = Mutex<[String: Entry]>([:])
    private let now: @Sendable () -> Double

    /// - Parameter now: seconds on the server's clock (injected, so tests can stop time).
    init(platform: Limits, user: Limits, maxBuckets: Int = 100_000, now: @escaping @Sendable () -> Double) {
        self.platform = platform
        self.user = user
        self.maxBuckets = maxBuckets
        self.now = now
    }

    /// Takes a token for `caller`.
    /// - Throws: `HeraldError.rateLimited` with the seconds until the next token.
    func take(for caller: Caller) throws(HeraldError) {
        let (key, limits) =
            switch caller {
            case .platform(let app): ("app:\(app.rawValue)", platform)
            case .user(let app, let user): ("user:\(app.rawValue):\(user.rawValue)", self.user)
            }
        if let refused = take(key: key, limits: limits) { throw .rateLimited(retryAfterSeconds: refused) }
    }

    /// Takes a token from the bucket named `key` (made with `limits` the first time it is seen); nil
    /// when one was taken, else the seconds until the next.
    func take(key: String, limits: Limits) -> Int? {
        let time = now()
        return buckets.withLock { buckets -> Int? in
            var entry = buckets[key] ?? Entry(bucket: TokenBucket(rate: limits.rate, burst: limits.burst), lastUsed: time)
            let isTaken = entry.bucket.take(at: time)
            entry.lastUsed = time
            buckets[key] = entry
            if buckets.count > maxBuckets {
                for stale in buckets.sorted(by: { $0.value.lastUsed < $1.value.lastUsed }).prefix(buckets.count / 10) { buckets[stale.key] = nil }
            }
            return isTaken ? nil : entry.bucket.secondsUntilNextToken
        }
    }

    /// Nil when the bucket named `key` has a token (without taking it), else the seconds until it has.
    func available(key: String, limits: Limits) -> Int? {
        let time = now()
        return buckets.withLock { buckets -> Int? in
            guard let entry = buckets[key] else { return nil }
            let bucket = entry.bucket.refilled(at: time)
            return bucket.hasToken(at: time) ? nil : bucket.secondsUntilNextToken
        }
    }
}
