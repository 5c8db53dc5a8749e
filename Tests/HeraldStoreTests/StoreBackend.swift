import Foundation
import HeraldCore
import GRDB
@testable import HeraldStore
import PostgresNIO
import HeraldTestSupport
import Synchronization
import Testing

/// The backends the conformance suite runs against. A new backend adds a case here and must pass
/// every test of `StoreConformanceTests` unchanged.
///
/// PostgreSQL needs a server (`PostgresTestServer`); each fixture gets databases of its own.
enum StoreBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// A fresh, empty store with a recording observer and a settable clock.
    func make() async throws -> StoreFixture {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let path = directory.appendingPathComponent("herald.sqlite").path
            let key = MasterKey.generate()
            let observed = CommitRecorder()
            let clock = TestClock()
            let open: @Sendable () async throws -> any Store = {
                try SQLiteStore(path: path, masterKey: key, now: { clock.now }, observer: { observed.record($0) })
            }
            return StoreFixture(
                store: try await open(), observed: observed, clock: clock, open: open,
                writeDatabase: { sql in try await DatabaseQueue(path: path).write { db in try db.execute(sql: sql) } },
                cleanup: { try? FileManager.default.removeItem(at: directory) })
        case .postgres:
            let (url, drop) = try await PostgresTestServer.freshDatabase()
            let key = MasterKey.generate()
            let observed = CommitRecorder()
            let clock = TestClock()
            let open: @Sendable () async throws -> any Store = {
                try await PostgresStore.open(url: url, masterKeys: [key], now: { clock.now }, observer: { observed.record($0) })
            }
            return StoreFixture(
                store: try await open(), observed: observed, clock: clock, open: open,
                writeDatabase: { sql in
                    let database = PostgresDatabase(url, maximumConnections: 1)
                    do {
                        try await database.execute(PostgresQuery(unsafeSQL: sql))
                    } catch {
                        await database.close()
                        throw error
                    }
                    await database.close()
                },
                cleanup: drop)
        }
    }
}

extension StoreBackend {
    /// Runs `body` on a fresh fixture, then closes the store and drops what it wrote, whatever happens.
    func withFixture(_ body: (inout StoreFixture) async throws -> Void) async throws {
        var fixture = try await make()
        do {
            try await body(&fixture)
            try await fixture.store.close()
        } catch {
            try? await fixture.store.close()
            await fixture.cleanup()
            throw error
        }
        await fixture.cleanup()
    }
}

extension StoreFixture {
    static let ana = UserID(rawValue: "ana")!
    static let ben = UserID(rawValue: "ben")!

    /// A new app with users ana and ben, each with their name as profile.
    func appWithAnaAndBen() async throws -> AppID {
        let app = try await store.createApp(name: "Acme").app.id
        for user in [Self.ana, Self.ben] { _ = try await store.putUser(user, profile: UserProfile(name: user.rawValue), in: app) }
        return app
    }
}

struct StoreFixture: Sendable {
    var store: any Store
    let observed: CommitRecorder
    let clock: TestClock
    /// Opens the same database again, as after a restart.
    let open: @Sendable () async throws -> any Store
    /// Runs SQL on the content database behind the store's back, as someone who can write it would.
    let writeDatabase: @Sendable (String) async throws -> Void
    let cleanup: @Sendable () async -> Void

    /// Closes the store and opens it again.
    mutating func restart() async throws {
        try await store.close()
        store = try await open()
    }
}

/// Records what the store's observer was told, in order.
final class CommitRecorder: Sendable {
    private let changes = Mutex<[CommittedMessage]>([])

    func record(_ batch: [CommittedMessage]) { changes.withLock { $0.append(contentsOf: batch) } }

    var all: [CommittedMessage] { changes.withLock { $0 } }
}

/// A clock tests move by hand.
final class TestClock: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))

    var now: Date { current.withLock { $0 } }

    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

// Shorthands the conformance tests use; the server always says which it means.
extension UserStore {
    /// Every user of the segment, in id order.
    func recipients(in segment: Segment, app: AppID) async throws -> [Recipient] {
        try await recipients(in: segment, app: app, after: nil, limit: Int(Int32.max))
    }
}

extension NotificationStore {
    /// Writes items sealed for their recipients alone, each asking for a push, with no fan-out progress.
    func insertInboxItems(_ items: [InboxItem], app: AppID, now: Date) async throws {
        try await writeInbox(InboxWrite(app: app, entries: items.map { InboxWrite.Entry(item: $0, sharedLocale: nil, push: true) }), now: now)
    }

    func markDelivered(_ items: [InboxItemID], app: AppID) async throws {
        try await markDelivered(items, signatures: [], app: app)
    }
}
