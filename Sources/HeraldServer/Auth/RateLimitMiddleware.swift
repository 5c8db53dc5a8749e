import CoreMetrics
import HeraldCore
import Hummingbird
import Synchronization

/// After authentication: a token per request from the caller's bucket (per API key, per user), and
/// at most `maxConcurrentPerApp` requests of one app in flight, so one tenant cannot starve the
/// others. Refusals are 429 with `Retry-After`, counted in `herald_rate_limited_total{caller, reason}`.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = HeraldRequestContext

    let limiter: RateLimiter
    let concurrency: AppConcurrency
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
        guard concurrency.enter(caller.appID) else {
            Counter(label: "herald_rate_limited_total", dimensions: [("caller", kind), ("reason", "concurrency")], factory: metrics).increment()
            throw HeraldError.rateLimited(retryAfterSeconds: 1)
        }
        defer { concurrency.leave(caller.appID) }
        return try await next(request, context)
    }
}

/// Requests in flight per app.
final class AppConcurrency: Sendable {
    let limit: Int
    private let inFlight = Mutex<[AppID: Int]>([:])

    init(limit: Int) {
        self.limit = limit
    }

    func enter(_ app: AppID) -> Bool {
        inFlight.withLock { counts in
            let current = counts[app, default: 0]
            guard current < limit else { return false }
            counts[app] = current + 1
            return true
        }
    }

    func leave(_ app: AppID) {
        inFlight.withLock { counts in
            let remaining = counts[app, default: 1] - 1
            counts[app] = remaining > 0 ? remaining : nil
        }
    }
}
