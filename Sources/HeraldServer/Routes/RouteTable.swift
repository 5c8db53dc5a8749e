import Synchronization

/// The routes the server knows, by path pattern, so that a known path asked with the wrong method
/// is answered `405 Method Not Allowed` (Hummingbird's router only says 404). Filled while the
/// router is built, read by `ProblemMiddleware` afterwards.
final class RouteTable: Sendable {
    private let entries = Mutex<[(segments: [Substring], method: String)]>([])

    func add(_ method: String, _ pattern: String) {
        entries.withLock { $0.append((pattern.split(separator: "/"), method)) }
    }

    /// Every registered route as `METHOD /pattern`, with `:name` parameters.
    var all: [String] {
        entries.withLock { $0.map { "\($0.method) /\($0.segments.joined(separator: "/"))" } }.sorted()
    }

    /// A router pattern as the API documents it: `/v1/users/:userId` is `/v1/users/{userId}`.
    static func documented(_ pattern: String) -> String {
        pattern.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
    }

    /// The methods registered for patterns matching `path`, or nil when no pattern matches.
    func methods(matching path: String) -> [String]? {
        let segments = path.split(separator: "/")
        let methods = entries.withLock { entries in
            entries.filter { entry in
                entry.segments.count == segments.count
                    && zip(entry.segments, segments).allSatisfy { pattern, actual in pattern.hasPrefix(":") || pattern == actual }
            }.map(\.method)
        }
        return methods.isEmpty ? nil : Array(Set(methods)).sorted()
    }
}
