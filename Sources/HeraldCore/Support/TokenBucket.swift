/// A token bucket: `rate` tokens a second, at most `burst` saved up. Pure: the caller passes the time,
/// so tests can drive it with any clock.
public struct TokenBucket: Sendable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var last: Double?

    public init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
        self.tokens = burst
    }

    /// Whole seconds until a token is available (at least 1, at most a day), for `Retry-After`.
    /// Computed in floating point and clamped before the conversion: a tiny configured rate must not trap.
    public var secondsUntilNextToken: Int {
        let seconds = (max(0, 1 - tokens) / rate).rounded(.up)
        guard seconds.isFinite, seconds < 86_400 else { return 86_400 }
        return max(1, Int(seconds))
    }

    /// Takes one token at time `now` (seconds on any monotonic scale); false when none is left.
    public mutating func take(at now: Double) -> Bool {
        if let last { tokens = min(burst, tokens + max(0, now - last) * rate) }
        last = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Whether `take(at: now)` would succeed, without taking.
    public func hasToken(at now: Double) -> Bool {
        refilled(at: now).tokens >= 1
    }

    /// The bucket as it stands at `now`, refilled since its last use.
    public func refilled(at now: Double) -> TokenBucket {
        var bucket = self
        if let last { bucket.tokens = min(burst, tokens + max(0, now - last) * rate) }
        return bucket
    }
}
