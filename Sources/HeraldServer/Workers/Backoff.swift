import Foundation

/// Exponential backoff with jitter for outbox retries: `base · factor^attempt`, capped, then a random
/// point in its upper half, so receivers that failed together are not retried together.
struct Backoff: Sendable {
    var base: TimeInterval = 5
    var factor: Double = 3
    var cap: TimeInterval = 6 * 3600
    var maxAttempts = 12

    /// The wait before attempt `attempt + 1` (attempts count from 0).
    func delay(after attempt: Int, using generator: inout some RandomNumberGenerator) -> TimeInterval {
        let full = min(cap, base * pow(factor, Double(attempt)))
        return Double.random(in: full / 2...full, using: &generator)
    }

    func delay(after attempt: Int) -> TimeInterval {
        var generator = SystemRandomNumberGenerator()
        return delay(after: attempt, using: &generator)
    }
}
