import Foundation
import GRDB
import HeraldCore
import HeraldStore
import HeraldLoopback
import Histogram
import NIOCore

/// Pages of 50 from a group channel of `size` messages, read by its `readers` members (customers
/// opening the conversation, each request with a random member's token) over `clients` HTTP connections: recent pages (among the newest
/// `recentWindow` messages) for `duration`, then cold ones (anywhere) for `duration`. The channel is
/// written through the store itself (sealed and group-committed like any send, but without a million
/// round trips) before the server starts, except its newest `recentWindow` messages, which are sent
/// through the running server as a live conversation's are. Every page is checked: 50 messages with
/// consecutive seqs from the asked position.
struct HistoryScenario {
    let size: Int
    /// The channel's members, who read it with their own tokens: enough that the per-customer rate
    /// limit (20 requests a second by default) is not what the benchmark measures.
    let readers: Int
    let clients: Int
    let duration: Duration

    func run(on server: BenchServer) async throws -> BenchResult {
        var channel: ChannelID?
        var members: [String] = []
        var seedSeconds = 0.0
        // Written through the running server: recent messages are the ones its writer committed.
        let tail = min(size, Self.recentWindow)
        var sendsTail = false
        return try await server.session(
            seedStore: { directory, app in
                let started = ContinuousClock.now
                members = (0..<readers).map { "r\($0)" }
                channel = try await seed(directory: directory, app: app, members: members, count: size - tail)
                sendsTail = true
                seedSeconds = (ContinuousClock.now - started).seconds
            },
            seedAPI: { api in
                let started = ContinuousClock.now
                members = (0..<readers).map { api.user("r\($0)") }
                channel = try await seed(api: api, members: members)
                seedSeconds = (ContinuousClock.now - started).seconds
            }
        ) { target, api, fsync in
            if sendsTail, let channel { try await send(tail, to: channel, from: members, api: api) }
            var tokens: [String] = []
            for member in members { tokens.append(try await api.token(member)) }
            let tokenList = tokens
            return try await measure(target: target, tokens: tokenList, channel: channel!, fsync: fsync, seedSeconds: seedSeconds)
        }
    }

    /// The same channel through the Platform API (a given server), 64 sends in flight: slower, so
    /// give a smaller `--count`.
    private func seed(api: BenchAPI, members: [String]) async throws -> ChannelID {
        try await BenchServer.concurrently(members.count, width: 64) { index in
            try await api.call(.PUT, "/v1/users/\(members[index])", body: "{}", expect: [200, 201])
        }
        let list = members.map { "\"\($0)\"" }.joined(separator: ",")
        let created = try await api.call(.POST, "/v1/channels", body: #"{"type":"group","name":"statements","members":[\#(list)]}"#, expect: [200, 201])
        let channel = ChannelID(rawValue: try BenchAPI.id(in: created))!
        try await send(size, to: channel, from: members, api: api)
        return channel
    }

    /// `count` messages through the Platform API, 64 in flight, the first two members taking turns.
    private func send(_ count: Int, to channel: ChannelID, from members: [String], api: BenchAPI) async throws {
        try await BenchServer.concurrently(count, width: 64) { index in
            let body = #"{"sender":"\#(members[index % 2])","text":"Message \#(index): your statement for account 4242 is ready to view in the app."}"#
            try await api.call(.POST, "/v1/channels/\(channel.rawValue)/messages", body: body, expect: [201])
        }
    }

    /// Writes `count` messages between two users, 512 sends at a time (the writer batches them), then drops
    /// the push rows the sends queued (nobody has a device), so the server starts idle.
    private func seed(directory: URL, app: AppID, members names: [String], count: Int) async throws -> ChannelID {
        let data = DataDirectory(path: directory.path)
        let store = try data.openStore(environmentKey: nil)
        let members = names.map { UserID(rawValue: $0)! }
        let (ana, ben) = (members[0], members[1])
        try await BenchServer.concurrently(members.count) { index in _ = try await store.putUser(members[index], profile: UserProfile(), in: app) }
        let channel = try await store.createChannel(NewChannel(type: .group, members: members, name: "statements"), in: app).channel.id
        try await BenchServer.concurrently(count) { index in
            let text = "Message \(index): your statement for account 4242 is ready to view in the app."
            _ = try await store.append(AppendRequest(app: app, channel: channel, sender: index % 2 == 0 ? ana : ben, content: MessageContent(text: text)))
        }
        try await store.close()
        let database = try DatabaseQueue(path: data.databaseURL.path)
        try await database.write { db in try db.execute(sql: "DELETE FROM outbox") }
        try database.close()
        return channel
    }

    /// The newest messages, whose pages count as recent: the pages a customer reads on opening a
    /// conversation and scrolling back a little (20 pages of 50).
    static let recentWindow = 1_000

    /// Two phases of `duration` each, on the same connections: recent pages (a random page among the
    /// newest `recentWindow` messages), then cold ones (anywhere in the channel).
    private func measure(target: BenchTarget, tokens: [String], channel: ChannelID, fsync: Double, seedSeconds: Double) async throws -> BenchResult {
        let serverCPUBefore = target.usage()
        let ownCPUBefore = ProcessUsage.ownCPUSeconds()
        let recent = try await phase(target: target, tokens: tokens, channel: channel, positions: max(0, size - Self.recentWindow)...(size - 50))
        let cold = try await phase(target: target, tokens: tokens, channel: channel, positions: 0...(size - 50))
        let ownCPU = ProcessUsage.ownCPUSeconds() - ownCPUBefore
        let pages = recent.pages + cold.pages
        return BenchResult(
            scenario: "history",
            parameters: [
                ("channel_messages", "\(size)"), ("readers", "\(readers)"), ("page", "50"), ("clients", "\(clients)"), ("connections", "\(clients)"),
                ("recent_window", "\(min(size, Self.recentWindow))"), ("pages", "\(pages)"), ("build", PushScenario.build),
            ],
            figures: [
                ("pages_per_second", recent.rate), ("cold_pages_per_second", cold.rate),
                ("seed_messages_per_second", Double(size) / seedSeconds), ("fsync_p50_ms", fsync),
            ]
                + BenchResult.latencies("page", recent.latencies) + BenchResult.latencies("cold_page", cold.latencies)
                + target.cpuFigures(since: serverCPUBefore, bench: ownCPU))
    }

    /// Pages at random positions in `positions` for `duration`; each page checked: 50 messages with
    /// consecutive seqs from the asked position.
    private func phase(
        target: BenchTarget, tokens: [String], channel: ChannelID, positions: ClosedRange<Int>
    ) async throws -> (pages: Int, rate: Double, latencies: Histogram<UInt64>) {
        let recorder = LatencyScenario.Recorder()
        let started = ContinuousClock.now
        let headers = tokens.map { [("Authorization", "Bearer \($0)")] }
        let pages = try await BenchServer.timedRequests(clients: clients, to: target, for: duration, recorder: recorder) { connection in
            let after = Int.random(in: positions)
            let sent = ContinuousClock.now
            let response = try await connection.get("/v1/channels/\(channel.rawValue)/messages?after=\(after)&limit=50", headers: headers.randomElement()!)
            let took = ContinuousClock.now - sent
            let seqs = PageScan.integers("seq", in: response.body)
            guard response.status == .ok, seqs == Array(Int64(after + 1)...Int64(after + 50)) else {
                throw LatencyScenario.Failure(description: "page after \(after) is wrong: status \(response.status.code), \(seqs.count) messages")
            }
            return took
        }
        return (pages, Double(pages) / (ContinuousClock.now - started).seconds, recorder.histograms.ack)
    }
}
