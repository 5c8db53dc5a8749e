import Foundation
import HeraldCore
import HeraldStore
import HeraldLoopback
import Histogram
import NIOCore

/// `GET /v1/me/inbox` pages of 50, each from a random one of `users` customers with `items` broadcasts
/// in their inbox, from `clients` concurrent HTTP clients for `duration`: first pages (what an app
/// opens, which the SQLite store keeps in memory), then, for `duration` again, each customer's second
/// page (after a cursor, read from the database each time). The broadcasts are written through the
/// store before the server starts (shared content, one reference per customer, as a fan-out writes
/// them). Both pages of every customer are read once before the clock starts (that read signs the
/// pages' items, once: its rate is reported apart); every page measured is checked: 50 items, newest
/// first, each signed.
struct InboxPageScenario {
    let users: Int
    let items: Int
    let clients: Int
    let duration: Duration

    func run(on server: BenchServer) async throws -> BenchResult {
        let cohort = server.run
        return try await server.session(
            seedStore: { directory, app in try await seed(directory: directory, app: app, cohort: cohort) },
            seedAPI: { api in try await seed(api: api) }
        ) { target, api, fsync in
            try await measure(target: target, api: api, fsync: fsync)
        }
    }

    private func seed(directory: URL, app: AppID, cohort: String) async throws {
        let store = try DataDirectory(path: directory.path).openStore(environmentKey: nil)
        let ids = (0..<users).map { UserID(rawValue: "\(cohort)i\($0)")! }
        try await BenchServer.concurrently(users) { index in _ = try await store.putUser(ids[index], profile: UserProfile(), in: app) }
        let start = Date().addingTimeInterval(-Double(items))
        for index in 0..<items {
            let createdAt = WireTime.truncated(start.addingTimeInterval(Double(index)))
            let notification = OutgoingNotification(
                id: .generate(), app: app, category: .transactional, source: .content(title: "Statement \(index)", body: "Your statement \(index) is ready."),
                templateVersion: nil, audience: .users(ids), data: nil, actions: nil, sendAt: nil, expiresAt: nil, createdAt: createdAt, status: .sending)
            _ = try await store.createNotification(notification, idempotency: nil)
            let content = InboxWrite.SharedContent(
                notification: notification.id, locale: "", title: "Statement \(index)", body: "Your statement \(index) is ready.", data: nil, actions: nil)
            for page in stride(from: 0, to: users, by: 1_000) {
                let entries = ids[page..<min(page + 1_000, users)].map { user in
                    InboxWrite.Entry(
                        item: InboxItem(
                            id: .generate(at: createdAt), notificationId: notification.id, recipient: user, category: .transactional,
                            title: content.title, body: content.body, data: nil, actions: nil, createdAt: createdAt, expiresAt: nil),
                        sharedLocale: "", push: false)
                }
                try await store.writeInbox(InboxWrite(app: app, entries: entries, contents: page == 0 ? [content] : []), now: createdAt)
            }
            try await store.completeNotification(notification.id, audienceSize: users, effects: [])
        }
        try await store.close()
    }

    /// The same inboxes through the Platform API (a given server): a send to every customer per item.
    private func seed(api: BenchAPI) async throws {
        try await BenchServer.concurrently(users, width: 64) { index in
            try await api.call(.PUT, "/v1/users/\(api.user("i\(index)"))", body: "{}", expect: [200, 201])
        }
        for index in 0..<items {
            for page in stride(from: 0, to: users, by: 10_000) {
                let list = (page..<min(page + 10_000, users)).map { "\"\(api.user("i\($0)"))\"" }.joined(separator: ",")
                try await api.call(
                    .POST, "/v1/notifications",
                    body: #"{"recipients":[\#(list)],"category":"transactional","content":{"title":"Statement \#(index)","body":"Your statement \#(index) is ready."}}"#,
                    expect: [201])
            }
        }
    }

    private func measure(target: BenchTarget, api: BenchAPI, fsync: Double) async throws -> BenchResult {
        var tokens: [String] = []
        for index in 0..<users { tokens.append(try await api.token(api.user("i\(index)"))) }
        let pageSize = min(50, items)
        let olderSize = min(50, items - pageSize)
        // Every first page read once: it signs its items (each broadcast item is signed when first shown),
        // and gives the cursor of the customer's second page, which is then read once too.
        let warmStarted = ContinuousClock.now
        let cursors = try await withThrowingTaskGroup(of: [(Int, String)].self) { group in
            for client in 0..<clients {
                group.addTask { [tokens] in
                    let connection = try await BenchHTTPConnection.connect(host: target.host, port: target.port)
                    defer { connection.close() }
                    var cursors: [(Int, String)] = []
                    for index in stride(from: client, to: users, by: clients) {
                        let cursor = try await page(for: tokens[index], cursor: nil, on: connection, expected: pageSize).cursor
                        guard olderSize > 0 else { continue }
                        guard let cursor else { throw LatencyScenario.Failure(description: "a first inbox page has no next cursor") }
                        _ = try await page(for: tokens[index], cursor: cursor, on: connection, expected: olderSize)
                        cursors.append((index, cursor))
                    }
                    return cursors
                }
            }
            return try await group.reduce(into: [Int: String]()) { all, found in for (index, cursor) in found { all[index] = cursor } }
        }
        let warmSeconds = (ContinuousClock.now - warmStarted).seconds
        let shared = tokens

        // First pages: what an app asks for when it opens (the server may answer them from memory).
        let serverCPUBefore = target.usage()
        let ownCPUBefore = ProcessUsage.ownCPUSeconds()
        let first = try await phase(target: target) { (connection: BenchHTTPConnection) -> Duration in
            try await page(for: shared.randomElement()!, cursor: nil, on: connection, expected: pageSize).took
        }
        let cpu = target.cpuFigures(since: serverCPUBefore, bench: ProcessUsage.ownCPUSeconds() - ownCPUBefore)
        // Older pages, after a cursor: read from the database each time.
        var older: (rate: Double, latencies: Histogram<UInt64>)?
        var olderCPU: [(String, Double)] = []
        if olderSize > 0 {
            let olderCPUBefore = target.usage()
            let olderOwnBefore = ProcessUsage.ownCPUSeconds()
            older = try await phase(target: target) { [cursors] (connection: BenchHTTPConnection) -> Duration in
                let index = Int.random(in: 0..<users)
                return try await page(for: shared[index], cursor: cursors[index], on: connection, expected: olderSize).took
            }
            olderCPU = target.cpuFigures(since: olderCPUBefore, bench: ProcessUsage.ownCPUSeconds() - olderOwnBefore).map { ("older_" + $0.0, $0.1) }
        }
        let firstReads = Double(users * (olderSize > 0 ? 2 : 1)) / warmSeconds
        var figures: [(String, Double)] = [("pages_per_second", first.rate)]
        if let older { figures.append(("older_pages_per_second", older.rate)) }
        figures += [("first_read_pages_per_second", firstReads), ("fsync_p50_ms", fsync)]
        figures += BenchResult.latencies("page", first.latencies)
        if let older { figures += BenchResult.latencies("older_page", older.latencies) }
        figures += cpu + olderCPU
        return BenchResult(
            scenario: "inbox",
            parameters: [("users", "\(users)"), ("items_each", "\(items)"), ("page", "\(pageSize)"), ("clients", "\(clients)"), ("build", PushScenario.build)],
            figures: figures)
    }

    /// Pages from `clients` connections for `duration`: their rate and latencies.
    private func phase(
        target: BenchTarget, _ request: @escaping @Sendable (BenchHTTPConnection) async throws -> Duration
    ) async throws -> (rate: Double, latencies: Histogram<UInt64>) {
        let recorder = LatencyScenario.Recorder()
        let started = ContinuousClock.now
        let pages = try await BenchServer.timedRequests(clients: clients, to: target, for: duration, recorder: recorder, request)
        return (Double(pages) / (ContinuousClock.now - started).seconds, recorder.histograms.ack)
    }

    /// One page of the customer's inbox, checked: `expected` items, newest first, each signed; the
    /// time to its response (the check is not timed) and the page's next cursor.
    private func page(for token: String, cursor: String?, on connection: BenchHTTPConnection, expected: Int) async throws -> (took: Duration, cursor: String?) {
        let sent = ContinuousClock.now
        let path = "/v1/me/inbox?limit=\(expected)" + (cursor.map { "&cursor=\($0)" } ?? "")
        let response = try await connection.get(path, headers: [("Authorization", "Bearer \(token)")])
        let took = ContinuousClock.now - sent
        // RFC 3339 times of one form sort as text.
        let created = PageScan.strings("createdAt", in: response.body)
        let signatures = PageScan.strings("jws", in: response.body)
        guard response.status == .ok, created.count == expected, signatures.count == expected, signatures.allSatisfy({ !$0.isEmpty }),
            zip(created, created.dropFirst()).allSatisfy({ $0 >= $1 })
        else {
            throw LatencyScenario.Failure(description: "an inbox page is wrong: status \(response.status.code), \(created.count) items")
        }
        return (took, PageScan.strings("nextCursor", in: response.body).first.map(String.init))
    }
}
