import HeraldCore
@testable import HeraldStore
import Testing

/// `TokenEpochCache`'s rule against a read that races with a revocation: what a read found is kept
/// only if no change committed since the read began.
@Suite("Token epoch cache")
struct TokenEpochCacheTests {
    let ana = UserID(rawValue: "ana")!
    let app = AppID(rawValue: "app_" + String(repeating: "a", count: 26))!

    @Test("A read begun before a change committed does not put its epoch back; one begun after does")
    func racingReadIsNotRemembered() {
        let cache = TokenEpochCache()
        let before = cache.generation()
        cache.forgetAll()  // a revocation commits while the read is under way
        cache.remember("old", of: ana, in: app, readIn: before)

        #expect(cache.epoch(of: ana, in: app) == nil)

        cache.remember("new", of: ana, in: app, readIn: cache.generation())

        #expect(cache.epoch(of: ana, in: app) == "new")
    }

    @Test("Past its limit the cache starts again rather than growing")
    func bounded() {
        let cache = TokenEpochCache(limit: 2)
        for name in ["a", "b", "c"] { cache.remember(name, of: UserID(rawValue: name)!, in: app, readIn: cache.generation()) }

        #expect(cache.epoch(of: UserID(rawValue: "c")!, in: app) == "c")
        #expect(cache.epoch(of: UserID(rawValue: "a")!, in: app) == nil)
    }
}
