public import Foundation
import Synchronization

/// A clock for tests of the real binary (`herald serve --test-clock-offset-file PATH`, hidden from the
/// help): the system clock plus the number of seconds written in the file, read again every 100 ms. A
/// test moves the server's time forward (a wait of two days, a lease running out) by writing the file;
/// the server's time never stops, so leases and timeouts behave as in production. Never for
/// production: the option names itself a test's.
public final class ClockOffsetFile: Sendable {
    private let path: String
    private let offsetMilliseconds = Atomic<Int64>(0)

    /// - Throws: when the file cannot be read or does not hold a number of seconds.
    public init(path: String) throws {
        self.path = path
        offsetMilliseconds.store(try Self.read(path), ordering: .relaxed)
    }

    public var now: @Sendable () -> Date {
        { [self] in Date().addingTimeInterval(Double(offsetMilliseconds.load(ordering: .relaxed)) / 1_000) }
    }

    /// Reads the file every 100 ms until cancelled; a file that does not read keeps the last offset.
    public func follow() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            if let offset = try? Self.read(path) { offsetMilliseconds.store(offset, ordering: .relaxed) }
        }
    }

    struct Unreadable: Error, CustomStringConvertible {
        var path: String
        var description: String { "the test clock file \(path) does not hold a number of seconds: write one, such as 0 or 86400" }
    }

    private static func read(_ path: String) throws -> Int64 {
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let seconds = Double(text), seconds.isFinite, abs(seconds) < 1e10 else { throw Unreadable(path: path) }
        return Int64(seconds * 1_000)
    }
}
