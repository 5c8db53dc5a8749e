import AsyncHTTPClient
import Foundation
import HeraldClient
import HeraldCore
import HeraldTestSupport
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// The real `herald` binary on a temporary data dir, with an app, users and the Platform API calls
/// the SDK tests need (the SDK itself only uses the client API).
final class ClientFixture: Sendable {
    let data: URL
    let appID: AppID
    let apiKey: String
    let server: Mutex<HeraldProcess>
    let port: Int

    struct Failure: Error, CustomStringConvertible { var description: String }

    private init(data: URL, appID: AppID, apiKey: String, server: HeraldProcess) {
        self.data = data
        self.appID = appID
        self.apiKey = apiKey
        self.server = Mutex(server)
        self.port = server.port
    }

    static func with<T>(users: [String] = ["ana", "ben"], _ body: (ClientFixture) async throws -> T) async throws -> T {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("herald-sdk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: data) }
        let (status, output) = try HeraldProcess.command(["apps", "create", "--name", "Acme Bank", "--data", data.path, "--json"])
        guard status == 0, case .object(let created) = try JSONValue.parse(Data(output.utf8)), case .string(let key)? = created["apiKey"],
            case .string(let app)? = created["appId"], let appID = AppID(rawValue: app)
        else { throw Failure(description: "apps create: \(output)") }
        let fixture = ClientFixture(data: data, appID: appID, apiKey: key, server: try await HeraldProcess.start(data: data))
        for user in users { try await fixture.platform(.PUT, "/v1/users/\(user)", body: #"{"name":"\#(user)"}"#) }
        do {
            let result = try await body(fixture)
            _ = await fixture.server.withLock { $0 }.stop(with: SIGTERM)
            return result
        } catch {
            _ = await fixture.server.withLock { $0 }.stop(with: SIGKILL)
            throw error
        }
    }

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// kill -9, then the same binary on the same data dir and port.
    func restartAfterKill() async throws {
        let old = server.withLock { $0 }
        old.signal(SIGKILL)
        _ = await old.exitStatus()
        let new = try await HeraldProcess.start(data: data, port: port)
        server.withLock { $0 = new }
    }

    @discardableResult
    func platform(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> Data {
        var request = HTTPClientRequest(url: baseURL.absoluteString + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        request.headers.add(name: "Content-Type", value: "application/json")
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 24)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw Failure(description: "\(method) \(path): \(response.status.code) \(String(buffer: bytes))")
        }
        return Data(bytes.readableBytesView)
    }

    func token(for user: String) async throws -> String {
        let data = try await platform(.POST, "/v1/users/\(user)/tokens")
        guard case .object(let fields) = try JSONValue.parse(data), case .string(let token)? = fields["token"] else { throw Failure(description: "no token") }
        return token
    }

    func directChannel(_ first: String, _ second: String) async throws -> ChannelID {
        let data = try await platform(.POST, "/v1/channels", body: #"{"type":"direct","members":["\#(first)","\#(second)"]}"#)
        return try WireJSON.decoder().decode(HeraldCore.Channel.self, from: data).id
    }

    /// A client for `user` whose token provider asks this fixture (as an app asks its backend).
    func client(for user: String, serverURL: URL? = nil, cursors: any CursorStore = InMemoryCursorStore(), calls: TokenCalls? = nil)
        -> HeraldClient
    {
        var configuration = HeraldClient.Configuration(
            serverURL: serverURL ?? baseURL, appID: appID,
            tokenProvider: { [self] in
                calls?.count()
                return try await token(for: user)
            }, cursors: cursors)
        configuration.reconnectDelay = .milliseconds(50)
        configuration.maximumReconnectDelay = .milliseconds(500)
        // A relay's cut can leave a handshake stuck (see `ConnectionAttempt`); tests need not wait 15 s.
        configuration.handshakeTimeout = .seconds(2)
        return HeraldClient(configuration: configuration)
    }
}

/// Counts token provider calls.
final class TokenCalls: Sendable {
    private let value = Mutex(0)
    func count() { value.withLock { $0 += 1 } }
    var total: Int { value.withLock { $0 } }
}

/// Reads a client's events in the background and lets a test wait for what it expects.
final class EventLog: Sendable {
    private let state = Mutex<(events: [HeraldEvent], waiters: [(predicate: @Sendable ([HeraldEvent]) -> Bool, continuation: CheckedContinuation<Void, Never>)])>(([], []))

    var events: [HeraldEvent] { state.withLock { $0.events } }

    /// Messages created in `channel`, in the order the client delivered them.
    func messages(in channel: ChannelID) -> [Message] {
        events.compactMap { event in
            if case .messageCreated(let message, _) = event, message.channelId == channel { return message }
            return nil
        }
    }

    func record(_ event: HeraldEvent) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.events.append(event)
            let (done, waiting) = (state.waiters.filter { $0.predicate(state.events) }, state.waiters.filter { !$0.predicate(state.events) })
            state.waiters = waiting
            return done.map(\.continuation)
        }
        for continuation in ready { continuation.resume() }
    }

    /// Waits until `predicate` holds for the events so far; false after `limit` (tests then fail, not hang).
    func wait(upTo limit: Duration = .seconds(60), until predicate: @escaping @Sendable ([HeraldEvent]) -> Bool) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let now = self.state.withLock { state -> Bool in
                        if predicate(state.events) { return true }
                        state.waiters.append((predicate, continuation))
                        return false
                    }
                    if now { continuation.resume() }
                }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next() ?? false
            if !first {
                // Release the parked waiter so the group can finish.
                let parked = state.withLock { state in
                    defer { state.waiters = [] }
                    return state.waiters.map(\.continuation)
                }
                for continuation in parked { continuation.resume() }
            }
            group.cancelAll()
            return first
        }
    }

    func waitForMessages(_ count: Int, in channel: ChannelID) async -> Bool {
        await wait { events in
            events.count { if case .messageCreated(let message, _) = $0, message.channelId == channel { true } else { false } } >= count
        }
    }
}

extension HeraldClient {
    /// Runs the client and records its events for the duration of `body`.
    func running<T: Sendable>(_ body: @Sendable (EventLog) async throws -> T) async throws -> T {
        let log = EventLog()
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await self.run()
                return nil
            }
            group.addTask {
                for await event in self.events { log.record(event) }
                return nil
            }
            let result = try await body(log)
            group.cancelAll()
            return result
        }
    }
}
