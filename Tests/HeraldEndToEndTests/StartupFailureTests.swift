import Foundation
import HeraldStore
import HeraldTestSupport
import Testing

/// What a new operator sees when Herald cannot start: the real binary, against a real PostgreSQL and
/// real file systems. Each failure ends quickly (the deadline is a guard against the old minute of
/// pool retries, not a timing measurement), with exit code 1 and one sentence naming the cause and the fix.
@Suite("Start-up failures say why and what to do", .serialized)
struct StartupFailureTests {
    private static let masterKey = ["HERALD_MASTER_KEY": Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()]

    /// The last line of standard error, without a log prefix.
    private static func sentence(_ errors: String) -> String {
        let line = errors.split(separator: "\n").last.map(String.init) ?? ""
        return line.components(separatedBy: "[herald] ").last ?? line
    }

    private static func expectExplained(_ arguments: [String], cause: String, fix: String, environment: [String: String] = masterKey) async throws {
        let (status, errors) = try await HeraldProcess.failure(arguments, environment: environment)
        let sentence = sentence(errors)
        #expect(status == 1, "ended with \(String(describing: status)): \(errors)")
        #expect(sentence.contains(cause), "\(sentence)")
        #expect(sentence.contains(fix), "\(sentence)")
        #expect(!sentence.contains("CircuitBreaker") && !sentence.contains("PSQLError"), "\(sentence)")
    }

    private static var postgres: PostgresURL? { try? PostgresTestServer.url() }

    @Test("PostgreSQL: a missing database, a refused port, TLS the server lacks, an unknown host, a wrong password, a missing key database", .enabled(if: postgres != nil))
    func postgresFailures() async throws {
        let server = try #require(Self.postgres)
        let base = "postgres://\(server.username)@\(server.host):\(server.port)"
        let closedPort = try RawPort().port

        try await Self.expectExplained(
            ["apps", "list", "--database", "\(base)/no_such_db"], cause: "no_such_db does not exist", fix: "CREATE DATABASE no_such_db")
        try await Self.expectExplained(
            ["apps", "list", "--database", "postgres://\(server.username)@127.0.0.1:\(closedPort)/herald"], cause: "nothing accepts connections at 127.0.0.1:\(closedPort)",
            fix: "start PostgreSQL there")
        try await Self.expectExplained(
            ["apps", "list", "--database", "\(base)/\(server.database)?sslmode=require"], cause: "does not offer TLS", fix: "sslmode=disable")
        try await Self.expectExplained(
            ["apps", "list", "--database", "postgres://herald@no-such-host.invalid:5432/herald"], cause: "no-such-host.invalid cannot be resolved", fix: "correct it")
        try await PostgresAdmin.ensureLoginRole("herald_password", password: "right_one", via: server)
        try await Self.expectExplained(
            ["apps", "list", "--database", "postgres://herald_password:wrong_one@\(server.host):\(server.port)/\(server.database)"],
            cause: "refused the password of user herald_password", fix: "correct the password")
        try await Self.expectExplained(
            ["apps", "list", "--database", "\(base)/\(server.database)", "--keys-database", "\(base)/no_such_keys"], cause: "the key database no_such_keys does not exist",
            fix: "--keys-database")
        try await Self.expectExplained(
            ["serve", "--port", "0", "--database", "\(base)/no_such_db"], cause: "no_such_db does not exist", fix: "CREATE DATABASE no_such_db")
    }

    @Test("A port another process holds")
    func portInUse() async throws {
        let data = try EndToEndTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let holder = try RawPort(listening: true)

        try await Self.expectExplained(
            ["serve", "--port", String(holder.port), "--data", data.path], cause: "127.0.0.1:\(holder.port) is in use by another process", fix: "--port",
            environment: [:])
        _ = holder
    }

    @Test("SQLite: a data directory that cannot be created")
    func unwritableDirectory() async throws {
        try await Self.expectExplained(["serve", "--port", "0", "--data", "/proc/herald-cannot-be-here"], cause: "cannot create the data directory /proc/herald-cannot-be-here", fix: "--data", environment: [:])
        try await Self.expectExplained(["apps", "create", "--name", "X", "--data", "/proc/herald-cannot-be-here"], cause: "cannot create the data directory", fix: "--data", environment: [:])
    }

    @Test("SQLite: a full disk", .enabled(if: TinyFileSystem.isAvailable))
    func fullDisk() async throws {
        let disk = try TinyFileSystem()
        defer { disk.remove() }

        try await Self.expectExplained(
            ["serve", "--port", "0", "--data", disk.path + "/data"], cause: "the disk holding \(disk.path)/data is full", fix: "free space there", environment: [:])
    }
}

/// A port nothing listens on (bound, then closed again), or one this process listens on while the
/// value lives (`listening`).
private final class RawPort {
    let port: Int
    private let descriptor: Int32
    private let keepsListening: Bool

    init(listening: Bool = false) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        keepsListening = listening
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        port = Int(UInt16(bigEndian: address.sin_port))
        if listening { listen(descriptor, 1) } else { close(descriptor) }
    }

    deinit { if keepsListening { close(descriptor) } }
}

/// A 64 KiB tmpfs, which fills at once (needs root and a kernel that lets this process mount).
private struct TinyFileSystem {
    let path: String

    static let isAvailable: Bool = {
        guard let disk = try? TinyFileSystem() else { return false }
        disk.remove()
        return true
    }()

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("herald-tiny-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", path]) else {
            try? FileManager.default.removeItem(atPath: path)
            throw POSIXError(.EPERM)
        }
    }

    func remove() {
        _ = Self.run("/bin/umount", [path])
        try? FileManager.default.removeItem(atPath: path)
    }

    private static func run(_ tool: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
