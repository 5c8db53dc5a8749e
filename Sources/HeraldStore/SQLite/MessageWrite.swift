import Foundation
import HeraldCore

/// One write queued in the message writer.
enum MessageWrite: Sendable {
    /// `prepared`: what was done for it before the writer (`PreparedAppend`), or nil.
    case append(AppendRequest, at: Date, prepared: PreparedAppend? = nil)
    /// `byBusiness`: the Platform API edits a customer's message (moderation); the message says so.
    case edit(MessageID, channel: ChannelID, app: AppID, content: MessageContent, signer: MessageSigner?, byBusiness: Bool, at: Date)
    case delete(MessageID, channel: ChannelID, app: AppID, at: Date)
}
