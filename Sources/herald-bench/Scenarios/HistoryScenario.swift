import AsyncHTTPClient
import Foundation
import GRDB
import HeraldCore
import HeraldStore
import HeraldLoopback
import Histogram
import NIOCore

/// Pages of 50 from a channel of `size` messages at random positions, through the Platform API, from
/// `clients` concurrent HTTP clients for `duration`. The channel is written through the store itself
/// (sealed and group-committed like any send, but without a million round trips) before the server
/// starts. Every page is checked: 50 messages with consecutive seqs from the asked position.
struct HistoryScenario {
    let size: Int
    let clients: Int
    let duration: Duration

    func run(on server: BenchServer) async throws -> BenchResult {
        var channel: ChannelID?
        var seedSeconds = 0.0
        return try await server.session(
            seedStore: { directory, app in
                let started = ContinuousClock.now
                channel = try await seed(directory: directory, app: app)
                seedSeconds = (ContinuousClock.now - started).seconds
            },
            seedAPI: { api in
                let started = ContinuousClock.now
                channel = try await seed(api: api)
                seedSeconds = (ContinuousClock.now - started).seconds
            }
        ) { target, api, fsync in
            try await measure(target: target, apiKey: api.apiKey, channel: channel!, fsync: fsync, seedSeconds: seedSeconds)
        }
    }

    /// The same channel through the Platform API (a given server), 64 sends in flight: slower, so
    /// give a smaller `--count`.
    private func seed(api: BenchAPI) async throws -> ChannelID {
        let (ana, ben) = (api.user("ana"), api.user("ben"))
        for user in [ana, ben] { try await api.call(.PUT, "/v1/users/\(user)", body: "{}", expect: [200, 201]) }
        let created = try await api.call(.POST, "/v1/channels", body: #"{"type":"direct","members":["\#(ana)","\#(ben)"]}"#, expect: [200, 201])
        let channel = try BenchAPI.id(in: created)
        try await BenchServer.concurrently(size, width: 64) { index in
            let body = #"{"sender":"\#(index % 2 == 0 ? ana : ben)","text":"Message \#(index): your statement for account 4242 is ready to view in the app."}"#
            try await api.call(.POST, "/v1/channels/\(channel)/messages", body: body, expect: [201])
        }
        return ChannelID(rawValue: channel)!
    }

    /// Writes `size` messages between two users, 512 sends at a time (the writer batches them), then drops
    /// the push rows the sends queued (nobody has a device), so the server starts idle.
    private func seed(directory: URL, app: AppID) async throws -> ChannelID {
        let data = DataDirectory(path: directory.path)
        let store = try data.openStore(environmentKey: nil)
        let (ana, ben) = (UserID(rawValue: "ana")!, UserID(rawValue: "ben")!)
        for user in [ana, ben] { _ = try await store.putUser(user, profile: UserProfile(), in: app) }
        let channel = try await store.createChannel(NewChannel(type: .direct, members: [ana, ben], name: nil), in: app).channel.id
        try await BenchServer.concurrently(size) { index in
            let text = "Message \(index): your statement for account 4242 is ready to view in the app."
            _ = try await store.append(AppendRequest(app: app, channel: channel, sender: index % 2 == 0 ? ana : ben, content: MessageContent(text: text)))
        }
        try await store.close()
        let database = try DatabaseQueue(path: data.databaseURL.path)
        try await database.write { db in try db.execute(sql: "DELETE FROM outbox") }
        try database.close()
        return channel
    }

    private func measure(target: BenchTarget, apiKey: String, channel: ChannelID, fsync: Double, seedSeconds: Double) async throws -> BenchResult {
        let recorder = LatencyScenario.Recorder()
        let serverCPUBefore = target.usage()
        let ownCPUBefore = ProcessUsage.ownCPUSeconds()
        let started = ContinuousClock.now
        let pages = try await BenchServer.timedRequests(clients: clients, for: duration, recorder: recorder) {
            let after = Int.random(in: 0...(size - 50))
            var request = HTTPClientRequest(url: "\(target.baseURL)/v1/channels/\(channel.rawValue)/messages?after=\(after)&limit=50")
            request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
            let sent = ContinuousClock.now
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 22)
            let took = ContinuousClock.now - sent
            let page = try WireJSON.decoder().decode(MessagePage.self, from: Data(body.readableBytesView))
            guard response.status == .ok, page.messages.map(\.seq) == Array(Int64(after + 1)...Int64(after + 50)) else {
                throw LatencyScenario.Failure(description: "page after \(after) is wrong: status \(response.status.code), \(page.messages.count) messages")
            }
            return took
        }
        let elapsed = ContinuousClock.now - started
        let ownCPU = ProcessUsage.ownCPUSeconds() - ownCPUBefore
        return BenchResult(
            scenario: "history",
            parameters: [("channel_messages", "\(size)"), ("page", "50"), ("clients", "\(clients)"), ("pages", "\(pages)"), ("build", PushScenario.build)],
            figures: [("pages_per_second", Double(pages) / elapsed.seconds), ("seed_messages_per_second", Double(size) / seedSeconds), ("fsync_p50_ms", fsync)]
                + BenchResult.latencies("page", recorder.histograms.ack) + target.cpuFigures(since: serverCPUBefore, bench: ownCPU))
    }
}
