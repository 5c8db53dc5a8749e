import ArgumentParser
import Foundation
import HeraldStore

/// `herald-bench SCENARIO`: drives a real `herald serve` (the binary built beside this one) over real
/// sockets, checks that everything arrived exactly once, and prints the figures. A run that loses or
/// duplicates anything fails instead of reporting a number.
@main
struct HeraldBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald-bench",
        abstract: "Measure Herald on this machine (build with `swift build -c release`): its own server, or --url/--api-key.",
        discussion: """
            Scenarios:
              latency  1:1 conversations over WebSocket (100 pairs, 1,000 msg/s in total): send → ack (after the commit) and
                     send → delivery to the peer, with HDR histograms; every message checked exactly once, in order.
              throughput  1:1 conversations over WebSocket (400 pairs), each sender keeping 4 messages in flight: the
                     durable messages/s the server sustains, with send → ack and send → delivery latencies.
              fanout one message at a time from the business to a 1,000-member group, every member online: deliveries/s
                     and the time to the last member of each message.
              history pages of 50 from a group channel of 1,000,000 messages (its newest 1,000 sent through the server,
                     the rest written through the store before it starts), read by its 1,000 members over 16 HTTP
                     connections: recent pages (the newest 1,000 messages) for the duration, then cold ones
                     (anywhere) for the duration: pages/s and page latency of each.
              inbox  `GET /v1/me/inbox` pages of 50 from 1,000 customers with 100 broadcasts each (written through the
                     store first), 16 HTTP connections: first pages for the duration, then second pages (after a
                     cursor) for the duration, after each customer's first read of both (which signs): pages/s and
                     page latency of each.
              inbox-fanout one signed notification to 100,000 users' inboxes (a segment; users written through the store
                     first) while `latency` runs beside it: the fan-out's time and the latency run's figures meanwhile.
              connections  idle authenticated WebSockets, one per user, spread over --addresses loopback destinations (the
                     server listens on 0.0.0.0), held for --duration: connects/s, time to `ready`, server memory per connection.
                     The default count is 100,000, or what the open-file limit (ulimit -n) allows, less 400.
              push   one security notification to N offline users, each with a Web Push subscription at a loopback
                     HTTP/2 TLS push service in this process, which checks VAPID and decrypts every payload; measures
                     the pushes/s the push worker sustains and the time from the commit to each push.
            """)

    @Argument(help: "The scenario: latency, throughput, fanout, connections, history, inbox, inbox-fanout or push.")
    var scenario: String

    @Option(help: "Recipients (push; default 5,000), group members (fanout; default 1,000) or channel size (history; default 1,000,000), inbox recipients (inbox-fanout; default 100,000), customers (inbox; default 1,000) or sockets (connections; default 100,000 or the open-file limit).")
    var count: Int?

    @Option(help: "Messages per sender (throughput; default 200), in all (fanout; default 50) or broadcasts in each inbox (inbox; default 100).")
    var messages: Int?

    @Option(help: "Conversations (throughput; default 400, enough to offer 36,000 msg/s under the per-socket limit).")
    var pairs: Int?

    @Option(help: "Messages in flight per sender (throughput; default 4).")
    var window: Int?

    @Option(help: "Loopback destination addresses the client side spreads over (connections; default 4).")
    var addresses: Int?

    @Option(help: "How long to send, read or hold (latency, history, connections; default 10 s).")
    var duration: Int?

    @Flag(help: "A small run that proves the scenario works (CI); checks delivery, not speed.")
    var quick = false

    @Flag(help: "Print one JSON object per scenario instead of a table.")
    var json = false

    @Option(help: "Give up after this many seconds with exit code 1 (default 120 with --quick, 900 otherwise).")
    var timeout: Int?

    @Option(help: "Drive this running server (http://HOST:PORT) instead of starting one; needs --api-key. Fixtures then go through the Platform API, and the server's CPU and memory are not reported.")
    var url: String?

    @Option(name: .customLong("api-key"), help: "The Platform API key of an app on the --url server.")
    var apiKey: String?

    @Option(help: "Run the benchmark's own servers on PostgreSQL: a fresh database on this server (postgres://user@host:port/db, a user who may create databases), dropped afterwards. Fixtures go through the Platform API.")
    var database: String?

    @Option(help: "With --database: how many servers, one cluster (default 1). Receivers and senders of a conversation are on different nodes.")
    var nodes: Int?

    func validate() throws {
        guard (url == nil) == (apiKey == nil) else { throw ValidationError("--url and --api-key go together") }
        if let url, URL(string: url)?.scheme != "http" { throw ValidationError("--url must be http://HOST[:PORT]") }
        if url != nil, scenario == "push" { throw ValidationError("push starts its own server (it needs a loopback push service the server may reach)") }
        if database != nil, url != nil { throw ValidationError("--database is for the benchmark's own servers; --url drives one that runs") }
        if database != nil, scenario == "push" { throw ValidationError("push runs on the embedded store only") }
        if let database { do { _ = try PostgresURL(database) } catch { throw ValidationError("--database: \(error)") } }
        if let nodes, nodes < 1 || (nodes > 1 && database == nil) { throw ValidationError("--nodes needs --database, and at least 1") }
    }

    func run() async throws {
        // A scenario whose sockets stop short must fail, not hang a CI run: a watchdog on a dispatch
        // thread, outside the cooperative pool, ends the process.
        let limit = timeout ?? (quick ? 120 : 900)
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(limit)) {
            FileHandle.standardError.write(Data("herald-bench: \(scenario) did not finish within \(limit) s\n".utf8))
            // The servers it started would outlive it otherwise, each holding a port and a data directory:
            // asked to stop, then killed if they are still there two seconds later (a hung server is
            // the usual reason for the timeout).
            let children = ProcessUsage.children(of: getpid())
            for child in children { kill(child, SIGTERM) }
            for _ in 0..<20 where children.contains(where: { kill($0, 0) == 0 }) { usleep(100_000) }
            for child in children { kill(child, SIGKILL) }
            Foundation.exit(1)
        }
        var server = BenchServer(given: url.flatMap(URL.init(string:)).map { ($0, apiKey ?? "") })
        server.database = try database.map { try PostgresURL($0) }
        server.nodes = nodes ?? 1
        let loopback = LoopbackProbe.measure()
        var result: BenchResult
        switch scenario {
        case "push":
            result = try await PushScenario(count: count ?? (quick ? 200 : 5_000)).run()
        case "latency":
            result = try await LatencyScenario(pairs: quick ? 10 : 100, rate: quick ? 100 : 1_000, duration: .seconds(duration ?? (quick ? 2 : 10))).run(on: server)
        case "throughput":
            result = try await ThroughputScenario(pairs: pairs ?? (quick ? 5 : 400), window: window ?? 4, perSender: messages ?? (quick ? 50 : 200)).run(on: server)
        case "fanout":
            result = try await FanoutScenario(members: count ?? (quick ? 50 : 1_000), messages: messages ?? (quick ? 5 : 50)).run(on: server)
        case "connections":
            result = try await ConnectionsScenario(count: count ?? (quick ? 500 : nil), addresses: addresses ?? 4, hold: .seconds(duration ?? (quick ? 1 : 10))).run(on: server)
        case "history":
            result = try await HistoryScenario(size: count ?? (quick ? 2_000 : 1_000_000), readers: quick ? 200 : 1_000, clients: quick ? 4 : 16, duration: .seconds(duration ?? (quick ? 2 : 10))).run(on: server)
        case "inbox":
            result = try await InboxPageScenario(
                users: count ?? (quick ? 100 : 1_000), items: messages ?? 100, clients: quick ? 4 : 16, duration: .seconds(duration ?? (quick ? 2 : 10))
            ).run(on: server)
        case "inbox-fanout":
            let beside = LatencyScenario(pairs: quick ? 10 : 100, rate: quick ? 100 : 1_000, duration: .seconds(duration ?? (quick ? 4 : 10)))
            result = try await InboxFanoutScenario(recipients: count ?? (quick ? 1_000 : 100_000), latency: beside).run(on: server)
        default:
            throw ValidationError("unknown scenario \(scenario); known: latency, throughput, fanout, connections, history, inbox, inbox-fanout, push")
        }
        if let loopback { result.figures.append(("loopback_rtt_p50_us", (loopback * 1000).rounded())) }
        if let url { result.parameters += [("server", url), ("fsync_measured_in", server.fsyncMeasuredIn)] }
        print(json ? result.json : result.table)
    }
}
