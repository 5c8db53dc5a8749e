import ArgumentParser
import Foundation

/// `herald-bench SCENARIO`: drives a real `herald serve` (the binary built beside this one) over real
/// sockets, checks that everything arrived exactly once, and prints the figures. A run that loses or
/// duplicates anything fails instead of reporting a number.
@main
struct HeraldBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald-bench",
        abstract: "Measure Herald on this machine (build with `swift build -c release`).",
        discussion: """
            Scenarios:
              latency  1:1 conversations over WebSocket (100 pairs, 1,000 msg/s in total): send → ack (after the commit) and
                     send → delivery to the peer, with HDR histograms; every message checked exactly once, in order.
              push   one security notification to N offline users, each with a Web Push subscription at a loopback
                     HTTP/2 TLS push service in this process, which checks VAPID and decrypts every payload; measures
                     the pushes/s the push worker sustains and the time from the commit to each push.
            """)

    @Argument(help: "The scenario: latency or push.")
    var scenario: String

    @Option(help: "Recipients (push; default 5,000).")
    var count: Int?

    @Option(help: "How long to send (latency; default 10 s).")
    var duration: Int?

    @Flag(help: "A small run that proves the scenario works (CI); checks delivery, not speed.")
    var quick = false

    @Flag(help: "Print one JSON object per scenario instead of a table.")
    var json = false

    func run() async throws {
        let result: BenchResult
        switch scenario {
        case "push":
            result = try await PushScenario(count: count ?? (quick ? 200 : 5_000)).run()
        case "latency":
            result = try await LatencyScenario(pairs: quick ? 10 : 100, rate: quick ? 100 : 1_000, duration: .seconds(duration ?? (quick ? 2 : 10))).run()
        default:
            throw ValidationError("unknown scenario \(scenario); known: latency, push")
        }
        print(json ? result.json : result.table)
    }
}
