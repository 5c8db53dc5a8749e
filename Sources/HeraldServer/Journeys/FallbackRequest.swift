import Foundation
import HeraldCore
import HeraldStore

/// What a fallback row asks to send: a journey step's text, decided when the step ran (`fallback`), or a
/// category's policy on a channel (`fallback.policy`), whose text is read from the settings when sent.
enum FallbackRequest {
    case step(channel: JourneyDefinition.FallbackChannel, text: String, subject: String?, run: JourneyRunID?)
    case policy(channel: JourneyDefinition.FallbackChannel)

    /// Nil for a row that does not read (it is dropped).
    init?(_ job: OutboxJob) {
        switch job.kind {
        case .fallbackPolicy:
            guard let channel = JourneyDefinition.FallbackChannel(rawValue: job.payload) else { return nil }
            self = .policy(channel: channel)
        case .fallback:
            guard case .object(let payload)? = try? JSONValue.parse(Data(job.payload.utf8)), case .string(let channelText)? = payload["channel"],
                let channel = JourneyDefinition.FallbackChannel(rawValue: channelText), case .string(let text)? = payload["text"]
            else { return nil }
            var subject: String?
            if case .string(let value)? = payload["subject"] { subject = value }
            var run: JourneyRunID?
            if case .string(let value)? = payload["run"] { run = JourneyRunID(rawValue: value) }
            self = .step(channel: channel, text: text, subject: subject, run: run)
        default:
            return nil
        }
    }

    var channel: JourneyDefinition.FallbackChannel {
        switch self {
        case .step(let channel, _, _, _), .policy(let channel): channel
        }
    }

    var run: JourneyRunID? {
        if case .step(_, _, _, let run) = self { return run }
        return nil
    }

    /// The texts for `item`; for a policy, from the settings as they stand (nil when it is gone).
    func message(for item: InboxItem, settings: () async throws -> AppSettings) async throws -> FallbackMessage.Rendered? {
        switch self {
        case .step(_, let text, let subject, _):
            return FallbackMessage.Rendered(text: text, subject: subject)
        case .policy(let channel):
            return try await settings().fallback.policy(for: item.category, channel: channel)?.message?.rendered(reference: item.reference)
        }
    }
}
