import Foundation
import HeraldCore
import HeraldStore
import HeraldLoopback
import NIOCore

/// `GET /v1/me/inbox` pages of 50, each from a random one of `users` customers with `items` broadcasts
/// in their inbox, from `clients` concurrent HTTP clients for `duration`. The broadcasts are written
/// through the store before the server starts (shared content, one reference per customer, as a
/// fan-out writes them). Every customer's first page is read once before the clock starts (that read
/// signs the page's items, once: its rate is reported apart); every page measured is checked: 50 items,
/// newest first, each signed.
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
        let shared = tokens
        let pageSize = min(50, items)
        // Every first page read once: it signs its items (each broadcast item is signed when first shown).
        let warmStarted = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask {
                    let connection = try await BenchHTTPConnection.connect(host: target.host, port: target.port)
                    defer { connection.close() }
                    for index in stride(from: client, to: users, by: clients) { try await page(for: shared[index], on: connection, expected: pageSize) }
                }
            }
            try await group.waitForAll()
        }
        let warmSeconds = (ContinuousClock.now - warmStarted).seconds

        let recorder = LatencyScenario.Recorder()
        let serverCPUBefore = target.usage()
        let ownCPUBefore = ProcessUsage.ownCPUSeconds()
        let started = ContinuousClock.now
        let pages = try await BenchServer.timedRequests(clients: clients, to: target, for: duration, recorder: recorder) { connection in
            try await page(for: shared.randomElement()!, on: connection, expected: pageSize)
        }
        let elapsed = ContinuousClock.now - started
        let ownCPU = ProcessUsage.ownCPUSeconds() - ownCPUBefore
        return BenchResult(
            scenario: "inbox",
            parameters: [("users", "\(users)"), ("items_each", "\(items)"), ("page", "\(pageSize)"), ("clients", "\(clients)"), ("pages", "\(pages)"), ("build", PushScenario.build)],
            figures: [("pages_per_second", Double(pages) / elapsed.seconds), ("first_read_pages_per_second", Double(users) / warmSeconds), ("fsync_p50_ms", fsync)]
                + BenchResult.latencies("page", recorder.histograms.ack) + target.cpuFigures(since: serverCPUBefore, bench: ownCPU))
    }

    /// One page of the customer's inbox, checked: `expected` items, newest first, each signed; the
    /// time to its response (the check is not timed).
    @discardableResult
    private func page(for token: String, on connection: BenchHTTPConnection, expected: Int) async throws -> Duration {
        let sent = ContinuousClock.now
        let response = try await connection.get("/v1/me/inbox?limit=\(expected)", headers: [("Authorization", "Bearer \(token)")])
        let took = ContinuousClock.now - sent
        // RFC 3339 times of one form sort as text.
        let created = PageScan.strings("createdAt", in: response.body)
        let signatures = PageScan.strings("jws", in: response.body)
        guard response.status == .ok, created.count == expected, signatures.count == expected, signatures.allSatisfy({ !$0.isEmpty }),
            zip(created, created.dropFirst()).allSatisfy({ $0 >= $1 })
        else {
            throw LatencyScenario.Failure(description: "an inbox page is wrong: status \(response.status.code), \(created.count) items")
        }
        return took
    }
}
