import Foundation
import HeraldCore

/// One write queued in the message writer.
enum MessageWrite: Sendable {
    case append(AppendRequest, at: Date)
    case edit(MessageID, channel: ChannelID, app: AppID, content: MessageContent, signer: MessageSigner?, at: Date)
    case delete(MessageID, channel: ChannelID, app: AppID, at: Date)
}
