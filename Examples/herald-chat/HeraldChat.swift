import ArgumentParser
import Foundation
import HeraldClient
import HeraldCore

/// A terminal chat on the public `HeraldClient` API only: follows one channel as one user.
///
/// Prints the channel's recent history (up to 50 messages), then each new message once, in seq
/// order, as `[SEQ] SENDER: TEXT`, and each new inbox item as `[inbox] TITLE`. Each line read from
/// standard input is sent as a message. It survives server restarts (the client reconnects and
/// resumes). At the end of input it waits until its outbox is empty, then exits 0.
@main
struct HeraldChat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "herald-chat", abstract: "A terminal chat on the Herald SDK.")

    @Option(help: "The server, e.g. http://127.0.0.1:8080.")
    var url: String

    @Option(help: "The app id (app_...).")
    var app: String

    @Option(help: "A user token (from POST /v1/users/{userId}/tokens).")
    var token: String

    @Option(help: "The channel to follow (ch_...).")
    var channel: String

    func run() async throws {
        guard let serverURL = URL(string: url), serverURL.scheme != nil else { throw ValidationError("--url must be a URL") }
        guard let appID = AppID(rawValue: app) else { throw ValidationError("--app must be an app id") }
        guard let channelID = ChannelID(rawValue: channel) else { throw ValidationError("--channel must be a channel id") }
        let token = self.token
        let client = HeraldClient(configuration: .init(serverURL: serverURL, appID: appID, tokenProvider: { token }))

        let history = try await client.history(of: channelID, limit: 50)
        for entry in history { Self.print(entry.message) }
        try await client.follow(channelID, after: history.last?.message.seq ?? 0)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            group.addTask {
                for await event in client.events {
                    switch event {
                    case .messageCreated(let message, _) where message.channelId == channelID: Self.print(message)
                    case .inboxItemCreated(let item, _): Self.write("[inbox] \(item.title)")
                    default: continue
                    }
                }
            }
            // Standard input is read on a thread of its own: `readLine` blocks.
            let lines = AsyncStream<String> { continuation in
                Thread.detachNewThread {
                    while let line = readLine() { continuation.yield(line) }
                    continuation.finish()
                }
            }
            // One send at a time: while the server is away a send waits in the outbox, and later lines
            // wait in the stream, so the order of the lines is kept.
            for await line in lines where !line.isEmpty {
                do {
                    _ = try await client.send(text: line, to: channelID)
                } catch {
                    FileHandle.standardError.write(Data("not sent: \(error)\n".utf8))
                }
            }
            await client.waitUntilOutboxIsEmpty()
            // Ends `run()`, which finishes `events` after the last one was printed.
            await client.stop()
            try await group.waitForAll()
        }
    }

    static func print(_ message: Message) {
        write("[\(message.seq)] \(message.sender?.rawValue ?? "business"): \(message.text)")
    }

    static func write(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
