import CoreMetrics
import HeraldCore
import Hummingbird
import Synchronization

/// After authentication: a token per request from the caller's bucket (per API key, per user), and
/// bounded requests in flight: per app for its platform callers, per app for its customers (a budget of
/// their own, so customers can never use up the business's), and per customer (a few at once, so one
/// customer cannot use up the others'). Refusals are 429 with `Retry-After`, counted in
/// `herald_rate_limited_total{caller, reason}`.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = HeraldRequestContext

    let limiter: RateLimiter
    let concurrency: Concurrency
    let metrics: any MetricsFactory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let caller = context.caller else { return try await next(request, context) }
        let kind = caller.userID == nil ? "platform" : "user"
        do {
            try limiter.take(for: caller)
        } catch {
            Counter(label: "herald_rate_limited_total", dimensions: [("caller", kind), ("reason", "rate")], factory: metrics).increment()
            throw error
        }
        let slots = concurrency.slots(for: caller)
        guard concurrency.enter(slots) else {
            Counter(label: "herald_rate_limited_total", dimensions: [("caller", kind), ("reason", "concurrency")], factory: metrics).increment()
            throw HeraldError.rateLimited(retryAfterSeconds: 1)
        }
        defer { concurrency.leave(slots) }
        return try await next(request, context)
    }
}

/// Requests in flight, counted per budget: a request takes a slot of each budget it belongs to, or none.
final class Concurrency: Sendable {
    enum Budget: Hashable {
        case platform(AppID)
        case customers(AppID)
        case customer(AppID, UserID)
    }

    let perApp: Int
    let perUser: Int
    private let inFlight = Mutex<[Budget: Int]>([:])

    init(perApp: Int, perUser: Int) {
        self.perApp = perApp
        self.perUser = perUser
    }

    func slots(for caller: Caller) -> [(Budget, Int)] {
        switch caller {
        case .platform(let app): [(.platform(app), perApp)]
        case .user(let app, let user): [(.customers(app), perApp), (.customer(app, user), perUser)]
        }
    }

    /// Takes a slot in every budget, or in none when one is full.
    func enter(_ slots: [(Budget, Int)]) -> Bool {
        inFlight.withLock { counts in
            guard slots.allSatisfy({ counts[$0.0, default: 0] < $0.1 }) else { return false }
            for (budget, _) in slots { counts[budget, default: 0] += 1 }
            return true
        }
    }

    func leave(_ slots: [(Budget, Int)]) {
        inFlight.withLock { counts in
            for (budget, _) in slots {
                let remaining = counts[budget, default: 1] - 1
                counts[budget] = remaining > 0 ? remaining : nil
            }
        }
    }
}
