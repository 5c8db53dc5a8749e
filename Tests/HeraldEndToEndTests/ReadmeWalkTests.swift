import Foundation
import HeraldTestSupport
import Testing

/// The README's walk, run as written: the `sh` blocks of "A five-minute walk", "Send a secure
/// notification" and "Push notifications that carry no secrets", in order, in one bash session against the real binary, from a directory of its own
/// (where `./herald-data` is the server's). What a reader must fill in by hand (`export KEY=hk_...  # the
/// apiKey printed above`) is taken from what the walk printed so far, and every output the README
/// shows (`# {"id":"ntf_...","recipients":1,...}`) is checked against what the commands printed.
///
/// Left out: the blocks that start the server (started here, on a free port instead of 8080), the
/// realtime terminal (`OperationsTests.readmeRealtimeTerminal`), and those that need what only the
/// reader has (an Apple or Firebase key file, a phone's device token: `<...>` or a file name).
@Suite("The README's walk")
struct ReadmeWalkTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `sh` blocks of the README's sections named `sections`, in order.
    static func shellBlocks(sections: Set<String>) throws -> [String] {
        let readme = try String(contentsOf: repository.appendingPathComponent("README.md"), encoding: .utf8)
        var (blocks, current, section, inBlock) = ([String](), [String](), "", false)
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("## ") { section = String(line.dropFirst(3)) }
            if inBlock {
                if line == "```" {
                    blocks.append(current.joined(separator: "\n"))
                    inBlock = false
                } else {
                    current.append(line)
                }
            } else if line == "```sh", sections.contains(section) {
                (current, inBlock) = ([], true)
            }
        }
        return blocks
    }

    /// `export NAME=PREFIX...  # ...` (a value the reader copies from the output above) becomes the
    /// last `PREFIX…` token the walk printed; `swift run herald` becomes the built binary; the server's
    /// address is the test's.
    static func runnable(_ block: String, port: Int) -> String {
        block.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            var line = String(line).replacingOccurrences(of: "swift run herald ", with: "\"$HERALD\" ")
                .replacingOccurrences(of: "127.0.0.1:8080", with: "127.0.0.1:\(port)")
            if let match = line.firstMatch(of: /^export ([A-Z]+)=([A-Za-z_]+)\.\.\.\s+#.*$/) {
                line = #"export \#(match.1)=$(grep -oE '\#(match.2)[A-Za-z0-9_.-]+' "$WALK_OUTPUT" | tail -1)"#
            }
            return line
        }.joined(separator: "\n")
    }

    /// The outputs a block shows: its comment lines (`# ...`), an annotation after two spaces dropped.
    static func shownOutputs(_ block: String) -> [String] {
        block.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("# ") else { return nil }
            let shown = String(line.dropFirst(2))
            return shown.range(of: "   ").map { String(shown[..<$0.lowerBound]) } ?? shown
        }
    }

    /// What of a shown output must be in the printed one: for JSON, each `"key":value` pair whose value
    /// is not elided (whatever the order and spacing), and the text before it (`200 {...}`); for text,
    /// each piece between the `...`.
    static func mustAppear(_ shown: String) -> [String] {
        if let brace = shown.firstIndex(of: "{") {
            let pairs = shown[brace...].matches(of: /"([A-Za-z]+)":\s*("[^"]*"|-?[0-9]+|true|false|null)/).compactMap { match in
                match.2.contains("...") ? nil : #""\#(match.1)":\#(match.2)"#
            }
            let prefix = shown[..<brace].trimmingCharacters(in: .whitespaces)
            return (prefix.isEmpty ? [] : [prefix]) + pairs
        }
        return shown.components(separatedBy: "...").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    @Test("Every command of the walk, the secure notification and the push set-up runs as written and prints what the README shows")
    func walkRunsAsWritten() async throws {
        let directory = try EndToEndTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // As the README has it: the server's data in ./herald-data, the scripts in ./scripts.
        try FileManager.default.createSymbolicLink(at: directory.appendingPathComponent("scripts"), withDestinationURL: Self.repository.appendingPathComponent("scripts"))
        let server = try await HeraldProcess.start(data: directory.appendingPathComponent("herald-data"))
        let blocks = try Self.shellBlocks(sections: ["A five-minute walk", "Send a secure notification", "Push notifications that carry no secrets"])
            .filter { !$0.hasPrefix("python3 scripts/realtime.py") && !$0.contains("<hex device token>") && !$0.contains("AuthKey_") }
        #expect(blocks.count >= 10, "the walk's blocks are found")
        #expect(blocks.contains { $0.contains(#""expirationTime": null"#) }, "the browser's subscription is walked")

        let output = directory.appendingPathComponent("walk-output.txt")
        var script = "set -e\ncd \"$WALK_DIRECTORY\"\nexec >>\"$WALK_OUTPUT\" 2>&1\n"
        for (index, block) in blocks.enumerated() {
            script += "echo '@@block \(index)'\n" + Self.runnable(block, port: server.port) + "\necho\n"
        }
        script += "echo '@@end'\n"
        let result = try OperationsTests.shell(script, environment: ["WALK_DIRECTORY": directory.path, "WALK_OUTPUT": output.path])
        #expect(await server.stop(with: SIGTERM) == 0)

        let printed = try String(contentsOf: output, encoding: .utf8)
        #expect(result.status == 0 && printed.contains("@@end"), "the walk stopped: \(printed)")
        let perBlock = printed.components(separatedBy: "@@block ").dropFirst()
        for (block, text) in zip(blocks, perBlock) {
            let normalized = text.replacingOccurrences(of: "\": ", with: "\":")
            for shown in Self.shownOutputs(block) {
                for piece in Self.mustAppear(shown) {
                    #expect(normalized.contains(piece.replacingOccurrences(of: "\": ", with: "\":")), "README shows \(shown); the walk printed \(text)")
                }
            }
        }
        #expect(!printed.contains("\"status\":500"))
    }
}
