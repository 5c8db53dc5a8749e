import Foundation
import Histogram

/// One scenario's parameters and figures, printed as a table or as JSON.
struct BenchResult {
    var scenario: String
    var parameters: [(String, String)]
    var figures: [(String, Double)]

    /// `name_p50`, `name_p90`, `name_p99`, `name_max` in milliseconds from a histogram of microseconds.
    static func latencies(_ name: String, _ histogram: Histogram<UInt64>) -> [(String, Double)] {
        [("p50", 50.0), ("p90", 90.0), ("p99", 99.0)].map { ("\(name)_\($0.0)_ms", Double(histogram.valueAtPercentile($0.1)) / 1000) }
            + [("\(name)_max_ms", Double(histogram.max) / 1000)]
    }

    var table: String {
        var lines = ["scenario: \(scenario)"]
        for (name, value) in parameters { lines.append("  \(name.padding(toLength: 34, withPad: " ", startingAt: 0)) \(value)") }
        for (name, value) in figures {
            lines.append("  \(name.padding(toLength: 34, withPad: " ", startingAt: 0)) \(value.rounded() == value ? String(Int(value)) : String(format: "%.2f", value))")
        }
        return lines.joined(separator: "\n")
    }

    var json: String {
        var object: [String: Any] = ["scenario": scenario]
        object["parameters"] = Dictionary(uniqueKeysWithValues: parameters)
        object["figures"] = Dictionary(uniqueKeysWithValues: figures)
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

/// CPU seconds and resident memory of a process, from `/proc` (Linux) and `getrusage`.
enum ProcessUsage {
    static func cpuSeconds(pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        // After the command: state(0) ... utime(11) stime(12), in clock ticks.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
    }

    /// The processes whose parent is `pid` (from `/proc/*/stat`).
    static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { candidate in
            guard let stat = try? String(contentsOfFile: "/proc/\(candidate)/stat", encoding: .utf8), let end = stat.lastIndex(of: ")") else { return false }
            // After the command: state(0) ppid(1).
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }
    }

    /// Bytes the process caused to be written to storage (`write_bytes` of `/proc/PID/io`).
    static func writtenBytes(pid: Int32) -> Double? {
        guard let io = try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8),
            let line = io.split(separator: "\n").first(where: { $0.hasPrefix("write_bytes:") })
        else { return nil }
        return line.split(separator: " ").last.flatMap { Double($0) }
    }

    static func residentBytes(pid: Int32) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
        else { return nil }
        return kilobytes * 1024
    }
}
