import Foundation
import HeraldCore
import HeraldTestSupport
import Testing

/// `herald-chat`, the SDK's example, as API.md describes it, run as a real process.
@Suite("herald-chat", .serialized)
struct HeraldChatTests {
    /// The `herald-chat` executable beside the test bundle.
    static var binary: URL { HeraldProcess.binary.deletingLastPathComponent().appendingPathComponent("herald-chat") }

    /// Waits (at most a minute) for a line of standard output containing `needle`.
    static func line(_ needle: String, in output: LogCollector) async -> String? {
        await withTaskGroup(of: String?.self) { group in
            group.addTask { await output.firstLine(containing: needle) }
            group.addTask {
                try? await Task.sleep(for: .seconds(60))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            output.wakeWaiters()
            return first
        }
    }

    /// Starts herald-chat with a pipe for its standard input and its standard output collected.
    static func launch(_ arguments: [String]) throws -> (Process, Pipe, LogCollector) {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let printed = LogCollector()
        printed.collect(from: output.fileHandleForReading)
        try process.run()
        return (process, input, printed)
    }

    /// Waits for the end of the process's output; after a minute it is killed (the test then fails on
    /// its status instead of hanging).
    static func waitForExit(_ process: Process, output: LogCollector) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await output.waitForEnd() }
            group.addTask {
                if (try? await Task.sleep(for: .seconds(60))) != nil { process.terminate() }
            }
            await group.next()
            group.cancelAll()
            output.wakeWaiters()
        }
        process.waitUntilExit()
    }

    @Test("Prints history then live messages and inbox items once, survives a server restart, sends stdin lines, exits 0 when its outbox is empty")
    func chat() async throws {
        try await ClientFixture.with { fixture in
            let channel = try await fixture.directChannel("ana", "ben")
            for text in ["Hello Ben", "Your card arrived?"] {
                try await fixture.platform(.POST, "/v1/channels/\(channel.rawValue)/messages", body: #"{"text":"\#(text)","sender":"ana"}"#)
            }
            let (process, input, printed) = try Self.launch([
                "--url", fixture.baseURL.absoluteString, "--app", fixture.appID.rawValue, "--token", try await fixture.token(for: "ben"), "--channel",
                channel.rawValue,
            ])

            #expect(await Self.line("[2] ana: Your card arrived?", in: printed) != nil)
            try await fixture.platform(.POST, "/v1/channels/\(channel.rawValue)/messages", body: #"{"text":"Live one","sender":"ana"}"#)
            #expect(await Self.line("[3] ana: Live one", in: printed) != nil)
            try await fixture.platform(
                .POST, "/v1/notifications", body: #"{"recipients":["ben"],"category":"security","content":{"title":"New sign-in","body":"Lisbon"}}"#)
            #expect(await Self.line("[inbox] New sign-in", in: printed) != nil)
            try await fixture.restartAfterKill()
            try await fixture.platform(.POST, "/v1/channels/\(channel.rawValue)/messages", body: #"{"text":"After the restart","sender":"ana"}"#)
            #expect(await Self.line("[4] ana: After the restart", in: printed) != nil)
            input.fileHandleForWriting.write(Data("Yes, thanks\n".utf8))
            try input.fileHandleForWriting.close()
            await Self.waitForExit(process, output: printed)

            #expect(process.terminationStatus == 0)
            let lines = printed.text.split(separator: "\n").map(String.init)
            #expect(lines.contains("[5] ben: Yes, thanks"))
            #expect(lines.filter { $0.hasPrefix("[") && !$0.hasPrefix("[inbox]") }.count == 5, "each message printed once: \(lines)")
            let history = try await fixture.platform(.GET, "/v1/channels/\(channel.rawValue)/messages?after=0")
            #expect(String(decoding: history, as: UTF8.self).contains("Yes, thanks"))
        }
    }

    /// Runs herald-chat to the end with `input` as its standard input; returns its status and output.
    static func runToEnd(_ arguments: [String], input: String) async throws -> (Int32, String) {
        let (process, stdin, printed) = try launch(arguments)
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        await Self.waitForExit(process, output: printed)
        return (process.terminationStatus, printed.text)
    }

    @Test("Without --channel it lists the channels; /inbox lists items as verified; /approve enrols a pending key, and approves once the bank activated it")
    func channelsInboxAndApprove() async throws {
        try await ClientFixture.with { fixture in
            let channel = try await fixture.directChannel("ana", "ben")
            try await fixture.platform(
                .POST, "/v1/notifications",
                body: #"{"recipients":["ben"],"category":"security","content":{"title":"Pay 90 EUR to Gym?","body":"Card 4242"},"actions":[{"id":"approve","label":"Approve","stepUp":true}]}"#)
            let token = try await fixture.token(for: "ben")
            let base = ["--url", fixture.baseURL.absoluteString, "--app", fixture.appID.rawValue, "--token", token]

            let (listStatus, listed) = try await Self.runToEnd(base, input: "")
            let (firstStatus, first) = try await Self.runToEnd(base + ["--channel", channel.rawValue], input: "/inbox\n")
            let itemID = try #require(first.split(separator: "\n").first { $0.hasPrefix("[inbox] inb_") }?.split(separator: " ")[1])
            let (process, stdin, printed) = try Self.launch(base + ["--channel", channel.rawValue])
            stdin.fileHandleForWriting.write(Data("/approve \(itemID) approve\n".utf8))
            let pending = try #require(await Self.line("pending", in: printed), "\(printed.text)")
            let deviceID = try #require(pending.split(separator: " ").dropFirst().first.map(String.init))
            try await fixture.platform(.POST, "/v1/users/ben/devices/\(deviceID)/step-up/activate")
            stdin.fileHandleForWriting.write(Data("/approve \(itemID) approve\n".utf8))
            let accepted = await Self.line("[action] approve accepted", in: printed)
            try stdin.fileHandleForWriting.close()
            await Self.waitForExit(process, output: printed)

            #expect(listStatus == 0 && listed.contains(channel.rawValue) && listed.contains("[unread 0]"))
            #expect(firstStatus == 0 && first.contains("Pay 90 EUR to Gym? (verified)"))
            #expect(pending.hasPrefix("[device] dev_") && printed.text.contains("/v1/users/USER_ID/devices/\(deviceID)/step-up/activate"))
            #expect(process.terminationStatus == 0 && accepted != nil, "\(printed.text)")
        }
    }
}
