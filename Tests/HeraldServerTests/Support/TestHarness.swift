import Foundation
import HTTPTypes
import HeraldCore
@testable import HeraldServer
import HeraldStore
import Hummingbird
import HummingbirdTesting
import Logging
import HeraldTestSupport
import NIOCore
import Synchronization

/// NIO has a `Channel` too; in these tests it is always the conversation.
typealias Channel = HeraldCore.Channel

/// A real server on a real store, with two apps: `acme` (the one under test, with users ana, ben, cat
/// and dan) and `other` (to prove isolation).
///
/// The store is a SQLite file in a temporary directory, or with `HERALD_TEST_STORE=postgres` a fresh
/// database on the PostgreSQL server of `HERALD_TEST_POSTGRES_URL` (`scripts/test.sh` runs this suite
/// both ways). Tests of what only the embedded store has (its file, its backups) run on SQLite only.
struct TestHarness: Sendable {
    enum Backend: String, Sendable {
        case sqlite
        case postgres
    }

    static let backend = Backend(rawValue: ProcessInfo.processInfo.environment["HERALD_TEST_STORE"] ?? "sqlite") ?? .sqlite
    /// For `.enabled(if:)` on tests of the embedded store's files.
    static let isSQLite = backend == .sqlite

    let directory: URL
    let masterKey: MasterKey
    let store: any Store
    let hub: Hub
    let tokens: UserTokens
    let configuration: ServerConfiguration
    let app: AppID
    let apiKey: String
    let otherApp: AppID
    let otherKey: String
    /// The content database, on PostgreSQL.
    let databaseURL: PostgresURL?

    static func with<T>(
        clock: TestClock? = nil,
        durability: Durability = .full,
        configure: (inout ServerConfiguration) -> Void = { _ in },
        _ body: (TestHarness) async throws -> T
    ) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = ServerConfiguration()
        configuration.port = 0
        // Workers are driven step by step (`parts.notifications.runDue()`, `parts.outboxWorker().runOnce()`).
        configuration.runsWorkers = false
        if let clock { configuration.now = clock.now }
        configure(&configuration)
        let hub = Hub()
        let masterKey = MasterKey.generate()
        let store: any Store
        var dropDatabase: (@Sendable () async -> Void)?
        var databaseURL: PostgresURL?
        switch backend {
        case .sqlite:
            store = try SQLiteStore(
                path: directory.appendingPathComponent("herald.sqlite").path, masterKey: masterKey, durability: durability, now: configuration.now,
                observer: hub.deliver)
        case .postgres:
            let (url, drop) = try await PostgresTestServer.freshDatabase()
            dropDatabase = drop
            databaseURL = url
            store = try await PostgresStore.open(url: url, masterKeys: [masterKey], maximumConnections: 8, now: configuration.now, observer: hub.deliver)
        }
        let (app, key) = try await store.createApp(name: "Acme")
        let (other, otherKey) = try await store.createApp(name: "Other")
        for name in ["ana", "ben", "cat", "dan"] {
            _ = try await store.putUser(UserID(rawValue: name)!, profile: UserProfile(name: name.capitalized), in: app.id)
        }
        var logger = Logger(label: "herald.test")
        logger.logLevel = .warning
        let harness = TestHarness(
            directory: directory, masterKey: masterKey, store: store, hub: hub, tokens: UserTokens(store: store, now: configuration.now), configuration: configuration, app: app.id,
            apiKey: key.token, otherApp: other.id, otherKey: otherKey.token, databaseURL: databaseURL, parts: ServerParts(configuration: configuration, store: store, hub: hub, logger: logger))
        do {
            let result = try await body(harness)
            try await store.close()
            await dropDatabase?()
            return result
        } catch {
            try? await store.close()
            await dropDatabase?()
            throw error
        }
    }

    /// The server's shared parts, on the harness's store and hub (for driving workers directly); the
    /// application runs on the same parts, so workers and `/metrics` share one registry.
    let parts: ServerParts

    func application() throws -> some ApplicationProtocol {
        try buildApplication(parts: parts)
    }

    /// Runs `body` against the application (`.router` for plain HTTP, `.live` for WebSockets).
    func run<T: Sendable>(_ setup: TestingSetup = .router, _ body: @escaping @Sendable (TestClient) async throws -> T) async throws -> T {
        try await application().test(setup) { client in try await body(TestClient(client: client)) }
    }

    func user(_ name: String) -> UserID { UserID(rawValue: name)! }

    /// A token for `name`, issued as the Platform API would.
    func token(for name: String, ttlSeconds: Int64 = 3600) async throws -> String {
        try await tokens.issue(for: user(name), in: app, ttlSeconds: ttlSeconds).token
    }

    func group(_ members: [String], name: String = "team") async throws -> Channel {
        try await store.createChannel(NewChannel(type: .group, members: members.map(user), name: name), in: app).channel
    }

    /// Templates `seeded` and `alert` (version 1 each) in the app under test.
    func seedTemplates() async throws {
        for key in ["seeded", "alert"] {
            _ = try await store.putTemplate(TemplateKey(rawValue: key)!, TemplateDefinition(category: .security, title: "Alert", body: "Check your account"), in: app)
        }
    }

    /// A security notification sent to `name` alone; returns it and the item in their inbox.
    func seedInboxItem(for name: String, title: String = "Seed") async throws -> (NotificationID, InboxItemID) {
        let new = NewNotification(
            audience: .users([user(name)]), category: .security, source: .content(title: title, body: "Seeded"),
            actions: [NotificationAction(id: "approve", label: "Approve", stepUp: true), NotificationAction(id: "decline", label: "Decline")])
        let (report, _) = try await parts.notifications.send(new, app: app, idempotency: nil)
        let page = try await store.inbox(of: user(name), in: app, query: InboxQuery())
        return (report.id, page.items.first { $0.notificationId == report.id }!.id)
    }

    @discardableResult
    func post(_ text: String, to channel: Channel, from sender: String?) async throws -> Message {
        try await store.append(AppendRequest(app: app, channel: channel.id, sender: sender.map(user), content: MessageContent(text: text))).message
    }
}

extension TestClient {
    /// A socket authenticated as `name` with the header, once the server said `ready` (nil if it did not).
    func readySocket(as name: String, harness: TestHarness) async throws -> TestSocket? {
        let socket = TestSocket(port: port, auth: .header(try await harness.token(for: name)))
        return await socket.ready() ? socket : nil
    }
}

/// A clock that tests move by hand, shared by the store and the server.
final class TestClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date) { current = Mutex(start) }

    /// Starts at an RFC 3339 time.
    convenience init(_ text: String) { self.init(WireTime.parse(text)!) }

    var now: @Sendable () -> Date { { [self] in current.withLock { $0 } } }

    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }

    func set(_ text: String) { current.withLock { $0 = WireTime.parse(text)! } }
}

/// A thin layer over Hummingbird's test client: JSON in and out, bearer credentials.
struct TestClient: Sendable {
    let client: any TestClientProtocol

    var port: Int { client.port ?? 0 }

    func request(
        _ method: HTTPRequest.Method, _ path: String, auth: String? = nil, body: String? = nil, headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = headers
        if let auth { headers[.authorization] = "Bearer \(auth)" }
        if body != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await client.executeRequest(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

    func request(_ method: HTTPRequest.Method, _ path: String, auth: String? = nil, bytes: [UInt8]) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let auth { headers[.authorization] = "Bearer \(auth)" }
        return try await client.executeRequest(uri: path, method: method, headers: headers, body: ByteBuffer(bytes: bytes))
    }
}

extension TestResponse {
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try WireJSON.decoder().decode(T.self, from: Data(buffer: body))
    }

    var text: String { String(buffer: body) }

    /// The problem document of an error response.
    var problem: Problem? { try? decode(Problem.self) }

    struct Problem: Decodable {
        var type: String
        var title: String
        var status: Int
        var detail: String?
        var errors: [FieldProblem]?
    }
}
