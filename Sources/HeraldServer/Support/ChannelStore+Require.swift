import HeraldCore
import HeraldStore

extension ChannelStore {
    /// The channel, or `notFound` (also when it belongs to another app).
    func requireChannel(_ id: ChannelID, in app: AppID) async throws -> Channel {
        guard let channel = try await channel(id, in: app) else { throw HeraldError.notFound(resource: "channel") }
        return channel
    }
}
