import HeraldCore
import Synchronization

/// Facts about a request learnt inside the middleware chain, for the request's log line: the app of an
/// authenticated caller.
final class RequestNotes: Sendable {
    private let state = Mutex<AppID?>(nil)

    var app: AppID? {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
