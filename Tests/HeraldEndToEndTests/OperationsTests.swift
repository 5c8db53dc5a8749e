import Foundation
import HeraldCore
import HeraldTestSupport
import Testing

/// What an operations team does on its first day, with the real binary, run by `/bin/sh` as cron and
/// `sh -c` run it: back up by copying the database file, restore a copy, point a command at the wrong
/// place, ask for the version.
@Suite("Operations: files, restore, wrong paths", .serialized)
struct OperationsTests {
    /// Runs `script` with `/bin/sh -c` (dash here), `$HERALD` naming the binary; returns status, output, errors.
    static func shell(_ script: String, environment: [String: String] = [:]) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.environment = ProcessInfo.processInfo.environment.merging(environment.merging(["HERALD": HeraldProcess.binary.path]) { $1 }) { $1 }
        let (output, errors) = (Pipe(), Pipe())
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
    }

    static func appNames(_ data: URL) throws -> [String] {
        let listed = try shell(#""$HERALD" apps list --data "$D" --json"#, environment: ["D": data.path])
        #expect(listed.status == 0, "\(listed.errors)")
        struct Listed: Decodable { var name: String }
        return try JSONDecoder().decode([Listed].self, from: Data(listed.output.utf8)).map(\.name)
    }

    static func walSize(_ data: URL) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: data.appendingPathComponent("herald.sqlite-wal").path)[.size] as? Int) ?? 0
    }

    /// The database file alone (with the key files), in a directory of its own: what copying it backs up.
    static func copyOfDatabaseFileAlone(_ data: URL) throws -> URL {
        let copy = try EndToEndTests.temporaryDirectory()
        for file in ["herald.sqlite", "master.key", "keys.sqlite"] {
            try FileManager.default.copyItem(at: data.appendingPathComponent(file), to: copy.appendingPathComponent(file))
        }
        return copy
    }

    /// A server on `data` with an app, users ana and ben, and their direct channel.
    static func serverWithDirectChannel(data: URL) async throws -> (app: EndToEndTests.Created, server: HeraldProcess, channel: Channel) {
        let app = try EndToEndTests.createApp(data: data)
        let server = try await HeraldProcess.start(data: data)
        for name in ["ana", "ben"] { await EndToEndTests.call(.PUT, "\(server.baseURL)/v1/users/\(name)", key: app.apiKey, body: "{}") }
        let created = try #require(await EndToEndTests.call(.POST, "\(server.baseURL)/v1/channels", key: app.apiKey, body: #"{"type":"direct","members":["ana","ben"]}"#))
        return (app, server, try WireJSON.decoder().decode(Channel.self, from: created.body))
    }

    @Test("After a command or a clean stop the WAL is empty: herald.sqlite alone, copied, holds everything")
    func databaseFileAloneIsTheDatabase() async throws {
        let data = try EndToEndTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let app = try EndToEndTests.createApp(data: data)
        let afterCommand = Self.walSize(data)
        let aloneAfterCommand = try Self.copyOfDatabaseFileAlone(data)
        defer { try? FileManager.default.removeItem(at: aloneAfterCommand) }

        let server = try await HeraldProcess.start(data: data)
        for name in (0..<50).map({ "user\($0)" }) { await EndToEndTests.call(.PUT, "\(server.baseURL)/v1/users/\(name)", key: app.apiKey, body: "{}") }
        #expect(await server.stop(with: SIGTERM) == 0)
        let afterStop = Self.walSize(data)
        let aloneAfterStop = try Self.copyOfDatabaseFileAlone(data)
        defer { try? FileManager.default.removeItem(at: aloneAfterStop) }
        let reopened = try await HeraldProcess.start(data: aloneAfterStop)
        let user = await EndToEndTests.call(.GET, "\(reopened.baseURL)/v1/users/user49", key: app.apiKey)
        #expect(await reopened.stop(with: SIGTERM) == 0)

        #expect(afterCommand == 0 && afterStop == 0, "WAL bytes after the command \(afterCommand), after the stop \(afterStop)")
        #expect(try Self.appNames(aloneAfterCommand) == ["Acme"])
        #expect(user?.status == 200, "the last user written before the stop is in the file alone")
    }

    @Test("herald restore under /bin/sh puts a backup back over a database killed with its WAL full (never replayed over it), keeps what it replaced, refuses while a server runs, a file that is no copy, or a copy from another data directory")
    func restore() async throws {
        let data = try EndToEndTests.temporaryDirectory()
        let other = try EndToEndTests.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: other)
        }
        let copy = data.appendingPathComponent("first.backup").path
        let foreign = other.appendingPathComponent("other.backup").path
        let environment = ["D": data.path, "F": copy, "O": other.path, "G": foreign]
        let app = try EndToEndTests.createApp(data: data)
        #expect(try Self.shell(#""$HERALD" backup --data "$D" --out "$F""#, environment: environment).status == 0)
        #expect(try Self.shell(#""$HERALD" apps create --name Later --data "$D""#, environment: environment).status == 0)
        _ = try EndToEndTests.createApp(data: other)
        #expect(try Self.shell(#""$HERALD" backup --data "$O" --out "$G""#, environment: environment).status == 0)

        // Writes after the backup, left in the WAL by a server killed without a chance to checkpoint.
        let server = try await HeraldProcess.start(data: data)
        for name in (0..<20).map({ "late\($0)" }) { await EndToEndTests.call(.PUT, "\(server.baseURL)/v1/users/\(name)", key: app.apiKey, body: "{}") }
        let whileRunning = try Self.shell(#""$HERALD" restore --data "$D" --from "$F""#, environment: environment)
        _ = await server.stop(with: SIGKILL)
        let walAfterKill = Self.walSize(data)
        let notACopy = try Self.shell(#"echo "not a database" > "$D/junk" && "$HERALD" restore --data "$D" --from "$D/junk""#, environment: environment)
        let fromElsewhere = try Self.shell(#""$HERALD" restore --data "$D" --from "$G""#, environment: environment)
        let namesBefore = try Self.appNames(data)
        let restored = try Self.shell(#""$HERALD" restore --data "$D" --from "$F" --json"#, environment: environment)

        #expect(whileRunning.status == 1 && whileRunning.errors.contains("in use"), "\(whileRunning.errors)")
        #expect(walAfterKill > 0, "the killed server's writes were still in its WAL")
        #expect(notACopy.status == 1 && notACopy.errors.contains("not a copy of a Herald database"), "\(notACopy.errors)")
        #expect(fromElsewhere.status == 1 && fromElsewhere.errors.contains("another data directory"), "\(fromElsewhere.errors)")
        #expect(namesBefore == ["Acme", "Later"], "a refused restore changes nothing")
        #expect(restored.status == 0 && restored.output.contains(#""apps":1"#), "\(restored.output) \(restored.errors)")
        #expect(try Self.appNames(data) == ["Acme"], "the app created after the backup is gone: the copy is what the store holds")
        let reopened = try await HeraldProcess.start(data: data)
        let late = await EndToEndTests.call(.GET, "\(reopened.baseURL)/v1/users/late0", key: app.apiKey)
        #expect(await reopened.stop(with: SIGTERM) == 0)
        #expect(late?.status == 404, "the old WAL's users were not replayed over the copy")
        let kept = try FileManager.default.contentsOfDirectory(atPath: data.path).filter { $0.hasPrefix("herald.sqlite.before-restore-") }
        #expect(kept.contains { !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm") }, "the replaced database is kept: \(kept)")
    }

    @Test("After the loss of herald.sqlite itself, herald restore brings a copy back with the key store and master key that remain")
    func restoreAfterLosingTheDatabase() throws {
        let data = try EndToEndTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let copy = data.appendingPathComponent("copy.backup").path
        _ = try EndToEndTests.createApp(data: data)
        #expect(try Self.shell(#""$HERALD" backup --data "$D" --out "$F""#, environment: ["D": data.path, "F": copy]).status == 0)
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(at: data.appendingPathComponent("herald.sqlite" + suffix)) }

        let refusedElsewhere = try Self.shell(#""$HERALD" apps list --data "$D""#, environment: ["D": data.path])
        let restored = try Self.shell(#""$HERALD" restore --data "$D" --from "$F""#, environment: ["D": data.path, "F": copy])

        #expect(refusedElsewhere.status == 1)
        #expect(restored.status == 0, "\(restored.errors)")
        #expect(try Self.appNames(data) == ["Acme"])
    }

    @Test("Commands other than serve and apps create refuse a missing data directory, name it, and create nothing")
    func missingDataDirectory() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("herald-missing-\(UUID().uuidString)").path
        for command in ["apps list", "audit verify", "backup --out /tmp/never-\(UUID().uuidString)", "keys rotate", "restore --from /tmp/never"] {
            let result = try Self.shell(#""$HERALD" \#(command) --data "$M""#, environment: ["M": missing])
            #expect(result.status == 1, "\(command): \(result.status) \(result.errors)")
            #expect(result.errors.contains(missing) && result.errors.contains("--data"), "\(command): \(result.errors)")
        }
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test("herald --version prints the version")
    func version() throws {
        let result = try Self.shell(#""$HERALD" --version"#)
        #expect(result.status == 0 && result.output.trimmingCharacters(in: .whitespacesAndNewlines) == HeraldVersion.current)
    }

    @Test("The README's realtime terminal (scripts/realtime.py) prints frames and sends typed lines: Ben's answer is acknowledged")
    func readmeRealtimeTerminal() async throws {
        let data = try EndToEndTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let (app, server, channel) = try await Self.serverWithDirectChannel(data: data)
        let issued = try #require(await EndToEndTests.call(.POST, "\(server.baseURL)/v1/users/ben/tokens", key: app.apiKey))
        let token = try #require(try JSONSerialization.jsonObject(with: issued.body) as? [String: Any])["token"] as? String

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/realtime.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "ws://127.0.0.1:\(server.port)/v1/realtime"]
        process.environment = ProcessInfo.processInfo.environment.merging(["BEN": try #require(token)]) { $1 }
        let (input, output) = (Pipe(), Pipe())
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let lines = AsyncStream<String> { continuation in
            Thread.detachNewThread {
                var buffer = Data()
                while case let chunk = output.fileHandleForReading.availableData, !chunk.isEmpty {
                    buffer.append(chunk)
                    while let newline = buffer.firstIndex(of: 10) {
                        continuation.yield(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                        buffer.removeSubrange(buffer.startIndex...newline)
                    }
                }
                continuation.finish()
            }
        }
        var seen: [String] = []
        let watchdog = Task {
            try await Task.sleep(for: .seconds(30))
            process.terminate()
        }
        for await line in lines {
            seen.append(line)
            if line.contains(#""type":"ready""#) {
                input.fileHandleForWriting.write(Data(#"{"type":"message.send","channelId":"\#(channel.id)","clientMessageId":"c1","text":"Hi Ana"}"#.utf8 + [10]))
            }
            if line.contains(#""type":"ack""#) { try input.fileHandleForWriting.close() }
        }
        watchdog.cancel()
        process.waitUntilExit()
        let history = try #require(await EndToEndTests.call(.GET, "\(server.baseURL)/v1/channels/\(channel.id)/messages?after=0&limit=10", key: app.apiKey))
        #expect(await server.stop(with: SIGTERM) == 0)

        #expect(seen.first?.contains(#""userId":"ben""#) == true, "\(seen)")
        #expect(seen.contains { $0.contains(#""type":"ack""#) }, "\(seen)")
        #expect(process.terminationStatus == 0)
        #expect(try WireJSON.decoder().decode(MessagePage.self, from: history.body).messages.map(\.text) == ["Hi Ana"])
    }

    @Test("The README's command table names every flag of herald serve and every environment variable it reads")
    func readmeListsEveryServeFlag() throws {
        let help = try Self.shell(#""$HERALD" serve --help"#).output
        let readme = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("README.md"), encoding: .utf8)
        let row = try #require(readme.split(separator: "\n").first { $0.hasPrefix("| `herald serve") }).description
        func names(_ pattern: String) throws -> Set<String> {
            let expression = try NSRegularExpression(pattern: pattern)
            return Set(expression.matches(in: help, range: NSRange(help.startIndex..., in: help)).map { String(help[Range($0.range, in: help)!]) })
        }
        let flags = try names("--[a-z][a-z-]+").subtracting(["--help", "--version"])
        let variables = try names("HERALD_[A-Z_]+")

        #expect(flags.count > 20 && variables.count > 20, "\(flags) \(variables)")
        #expect(flags.filter { !row.contains($0 + " ") && !row.contains($0 + "]") }.isEmpty, "missing flags: \(flags.filter { !row.contains($0) })")
        #expect(variables.filter { !row.contains("`\($0)`") }.isEmpty, "missing variables: \(variables.filter { !row.contains("`\($0)`") })")
    }

    @Test("deploy/herald.service passes systemd-analyze verify without a warning, and keeps its hardening")
    func systemdUnit() throws {
        let unit = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("deploy/herald.service"), encoding: .utf8)
        let directory = try EndToEndTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // verify checks that ExecStart's binary exists: the one just built stands in for /usr/local/bin/herald.
        try unit.replacingOccurrences(of: "/usr/local/bin/herald", with: HeraldProcess.binary.path)
            .write(to: directory.appendingPathComponent("herald.service"), atomically: true, encoding: .utf8)

        let verified = try Self.shell(#"systemd-analyze verify --man=no "$U""#, environment: ["U": directory.appendingPathComponent("herald.service").path])

        #expect(verified.status == 0 && verified.errors.isEmpty, "\(verified.errors)")
        for setting in ["User=herald", "NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=herald", "LimitNOFILE=", "CapabilityBoundingSet=\n"] {
            #expect(unit.contains(setting), "\(setting)")
        }
    }

    @Test("The real server's /metrics counts its group commits: how many sends each carried and how long each took")
    func commitMetrics() async throws {
        let data = try EndToEndTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let (app, server, channel) = try await Self.serverWithDirectChannel(data: data)
        for index in 0..<3 {
            await EndToEndTests.call(.POST, "\(server.baseURL)/v1/channels/\(channel.id)/messages", key: app.apiKey, body: #"{"text":"m\#(index)","sender":"ana"}"#)
        }
        let scraped = try #require(await EndToEndTests.call(.GET, "\(server.baseURL)/metrics", key: app.apiKey))
        #expect(await server.stop(with: SIGTERM) == 0)
        let metrics = String(decoding: scraped.body, as: UTF8.self)
        func value(_ series: String) -> Double? {
            metrics.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }

        #expect((value("herald_commit_batch_messages_count") ?? 0) >= 1, "\(metrics)")
        #expect(value("herald_commit_batch_messages_sum") == 3, "three sends, in however many commits")
        #expect((value("herald_commit_duration_seconds_count") ?? 0) >= 1)
    }
}
