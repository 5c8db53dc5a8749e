public import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The real `herald` binary, started as a child process on a data directory.
/// Shared by the end-to-end tests and `herald-bench`, which both drive the real server.
public final class HeraldProcess: Sendable {
    let process: Process
    public let port: Int
    private let log: LogCollector

    /// The `herald` executable next to the test bundle (SwiftPM builds it with the tests), or `HERALD_BINARY`.
    public static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["HERALD_BINARY"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("herald")
    }

    /// Runs a `herald` command to completion; returns its exit code and standard output.
    /// - Parameter environment: added to this process's environment.
    public static func command(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs a `herald` command to completion, or kills it after `deadline`; returns its exit code (nil
    /// when it was killed) and standard error.
    public static func failure(
        _ arguments: [String], environment: [String: String] = [:], deadline: Duration = .seconds(30)
    ) async throws -> (status: Int32?, errors: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let watchdog = Task {
            try await Task.sleep(for: deadline)
            process.terminate()
        }
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let killed = watchdog.isCancelled == false && process.terminationReason == .uncaughtSignal
        watchdog.cancel()
        return (killed ? nil : process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Starts `herald serve` on `port` (0: a free one) and waits until it listens.
    public static func start(data: URL, port: Int = 0, extraArguments: [String] = []) async throws -> HeraldProcess {
        try await start(arguments: ["--data", data.path, "--port", String(port)] + extraArguments)
    }

    /// Starts `herald serve` as one node of a cluster on `database` (PostgreSQL), with the cluster's
    /// master key in `HERALD_MASTER_KEY`.
    public static func start(database: String, masterKey: String, port: Int = 0, extraArguments: [String] = []) async throws -> HeraldProcess {
        try await start(arguments: ["--database", database, "--port", String(port)] + extraArguments, environment: ["HERALD_MASTER_KEY": masterKey])
    }

    /// Starts `herald serve ARGUMENTS` and waits until it listens.
    public static func start(arguments: [String], environment: [String: String] = [:]) async throws -> HeraldProcess {
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let log = LogCollector()
        log.collect(from: errors.fileHandleForReading)
        try process.run()
        // Bounded, so a server that never listens fails the test instead of hanging it.
        let listening = await withTaskGroup(of: String?.self) { group in
            group.addTask { await log.firstLine(containing: "herald listening") }
            group.addTask {
                try? await Task.sleep(for: .seconds(60))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            log.wakeWaiters()
            return first
        }
        guard let line = listening,
            // `address=127.0.0.1:PORT` in the text log, `"address":"127.0.0.1:PORT"` in the JSON one.
            let range = line.range(of: #"address(=|":")[0-9.]+:(\d+)"#, options: .regularExpression),
            let port = Int(line[range].split(separator: ":").last ?? "")
        else {
            process.terminate()
            throw StartFailure(log: log.text)
        }
        return HeraldProcess(process: process, port: port, log: log)
    }

    private init(process: Process, port: Int, log: LogCollector) {
        self.process = process
        self.port = port
        self.log = log
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var logText: String { log.text }

    public var processIdentifier: Int32 { process.processIdentifier }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Sends `signal` and returns the exit status; if the process has not exited within 30 seconds it
    /// is killed and nil is returned, so a test fails rather than hangs.
    public func stop(with signal: Int32) async -> Int32? {
        self.signal(signal)
        if await exited(within: .seconds(30)) { return await exitStatus() }
        self.signal(SIGKILL)
        _ = await exitStatus()
        return nil
    }

    /// Waits for the end of the process's standard error (it closes when the process exits), at most `limit`.
    private func exited(within limit: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.log.waitForEnd()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let ended = await group.next() ?? false
            group.cancelAll()
            log.wakeWaiters()
            return ended
        }
    }

    /// Waits for the process to exit and returns its status.
    public func exitStatus() async -> Int32 {
        await log.waitForEnd()
        process.waitUntilExit()
        return process.terminationStatus
    }

    public struct StartFailure: Error, CustomStringConvertible {
        public var log: String
        public var description: String { "herald did not start:\n\(log)" }
    }
}

/// Collects a child's standard error and lets tests wait for a line.
///
/// Waiters name the generation of the output they have already looked at, and are only parked if no
/// output arrived since: a check and a wait are not atomic, and a line that arrives between them
/// must still wake the waiter.
public final class LogCollector: Sendable {
    private struct State {
        var text = ""
        var generation = 0
        var isFinished = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    public init() {}

    public var text: String { state.withLock { $0.text } }

    /// Reads `handle` to its end on a thread of its own. Not `readabilityHandler`: its run loop and
    /// dispatch sources take threads that Swift's cooperative pool (two on this machine) needs, and
    /// several tests spawning processes at once could starve every task.
    public func collect(from handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                append(data)
            }
            finish()
        }
    }

    public func append(_ data: Data) {
        advance { $0.text += String(decoding: data, as: UTF8.self) }
    }

    /// Wakes waiters without new output, so cancelled ones can leave.
    public func wakeWaiters() {
        advance { _ in }
    }

    public func finish() {
        advance { $0.isFinished = true }
    }

    /// Applies `change`, starts a new generation and wakes every waiter.
    private func advance(_ change: (inout State) -> Void) {
        let waiters = state.withLock { state in
            change(&state)
            state.generation += 1
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until the output has changed since `generation` (or has ended).
    private func change(since generation: Int) async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.isFinished || state.generation != generation { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    public func firstLine(containing needle: String) async -> String? {
        while true {
            let (found, finished, generation) = state.withLock { state in
                (state.text.split(separator: "\n").first { $0.contains(needle) }.map(String.init), state.isFinished, state.generation)
            }
            if let found { return found }
            if finished || Task.isCancelled { return nil }
            await change(since: generation)
        }
    }

    public func waitForEnd() async {
        while true {
            let (finished, generation) = state.withLock { ($0.isFinished, $0.generation) }
            if finished || Task.isCancelled { return }
            await change(since: generation)
        }
    }
}
