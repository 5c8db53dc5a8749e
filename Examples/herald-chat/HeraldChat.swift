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
///
/// Without `--channel` it lists the user's channels and exits. Two input lines are commands rather
/// than messages: `/inbox` lists the inbox (verified or not), `/approve ITEM ACTION` performs an
/// action, approving a step-up action with a software key this run registers as a device.
@main
struct HeraldChat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "herald-chat", abstract: "A terminal chat on the Herald SDK.")

    @Option(help: "The server, e.g. http://127.0.0.1:8080.")
    var url: String

    @Option(help: "The app id (app_...).")
    var app: String

    @Option(help: "A user token (from POST /v1/users/{userId}/tokens).")
    var token: String

    @Option(help: "The channel to follow (ch_...); without it, the user's channels are listed.")
    var channel: String?

    func run() async throws {
        guard let serverURL = URL(string: url), serverURL.scheme != nil else { throw ValidationError("--url must be a URL") }
        guard let appID = AppID(rawValue: app) else { throw ValidationError("--app must be an app id") }
        let token = self.token
        let client = HeraldClient(configuration: .init(serverURL: serverURL, appID: appID, tokenProvider: { token }))
        guard let channel else {
            for summary in try await client.channels() {
                Self.write("\(summary.channel.id) \(summary.channel.name ?? summary.channel.members.map(\.rawValue).joined(separator: ", ")) [unread \(summary.unreadCount)]")
            }
            return
        }
        guard let channelID = ChannelID(rawValue: channel) else { throw ValidationError("--channel must be a channel id") }

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
            var approver: StepUpDevice?
            for await line in lines where !line.isEmpty {
                do {
                    if line == "/inbox" {
                        for entry in try await client.inbox().items {
                            Self.write("[inbox] \(entry.item.id) \(entry.item.title) (\(entry.verification == .verified ? "verified" : "NOT VERIFIED"))")
                        }
                    } else if line.hasPrefix("/approve ") {
                        let words = line.split(separator: " ").map(String.init)
                        guard words.count == 3, let id = InboxItemID(rawValue: words[1]) else {
                            Self.write("usage: /approve ITEM ACTION")
                            continue
                        }
                        if approver == nil {
                            // A new key is pending until the bank activates it: say how, and approve on the next /approve.
                            let signer = SoftwareStepUpSigner()
                            let device = try await client.registerDevice(platform: .fcm, token: "herald-chat-\(UUID().uuidString)", stepUpSigner: signer)
                            approver = StepUpDevice(deviceID: device.deviceId, signer: signer)
                            if device.stepUp?.state == .pending {
                                Self.write("[device] \(device.deviceId) pending, key \(device.stepUp?.thumbprint ?? ""): the bank activates it with")
                                Self.write("[device] POST /v1/users/USER_ID/devices/\(device.deviceId)/step-up/activate; then /approve again")
                                continue
                            }
                        }
                        let item = try await client.item(id).item
                        let result = try await client.perform(words[2], on: item, stepUp: approver)
                        Self.write("[action] \(result.actionId) \(result.status)")
                    } else {
                        _ = try await client.send(text: line, to: channelID)
                    }
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
