public import Foundation
public import HeraldCore

/// Where the client keeps, per channel, the last seq it delivered to the app, so that it resumes
/// there after a reconnect or an app restart and the app sees each message once.
public protocol CursorStore: Sendable {
    func lastSeq(of channel: ChannelID) async -> Int64?
    func setLastSeq(_ seq: Int64, of channel: ChannelID) async
    /// Every channel with a cursor (resumed on connect).
    func channels() async -> [ChannelID]
}

/// Cursors in memory: resumes across reconnects, starts over when the process restarts.
public actor InMemoryCursorStore: CursorStore {
    private var cursors: [ChannelID: Int64] = [:]

    public init() {}

    public func lastSeq(of channel: ChannelID) -> Int64? { cursors[channel] }
    public func setLastSeq(_ seq: Int64, of channel: ChannelID) { cursors[channel] = seq }
    public func channels() -> [ChannelID] { Array(cursors.keys) }
}

/// Cursors in a JSON file, written atomically after each change: resumes across app restarts.
public actor FileCursorStore: CursorStore {
    private let url: URL
    private var cursors: [String: Int64]

    /// Reads `url` if it exists; a missing or unreadable file starts empty.
    public init(url: URL) {
        self.url = url
        cursors = (try? JSONDecoder().decode([String: Int64].self, from: Data(contentsOf: url))) ?? [:]
    }

    public func lastSeq(of channel: ChannelID) -> Int64? { cursors[channel.rawValue] }

    public func setLastSeq(_ seq: Int64, of channel: ChannelID) {
        guard cursors[channel.rawValue] != seq else { return }
        cursors[channel.rawValue] = seq
        if let data = try? JSONEncoder().encode(cursors) { try? data.write(to: url, options: .atomic) }
    }

    public func channels() -> [ChannelID] { cursors.keys.compactMap(ChannelID.init(rawValue:)) }
}
