import Foundation
import HeraldCore
import HeraldStore

/// Turns domain events into webhook outbox rows, for the apps that subscribed to them. The caller
/// writes the rows in the same transaction as the change they report, so an event is never lost
/// nor reported for a change that was not committed.
struct WebhookEvents: Sendable {
    let store: any Store

    /// Zero or one row: the Standard Webhooks payload `{"type", "timestamp", "data"}` with a fresh
    /// message id (`webhook-id`, the same for every attempt).
    func entries(for event: WebhookEvent, app: AppID, data: [String: JSONValue], at time: Date) async throws -> [OutboxEntry] {
        guard let (webhook, _) = try await store.webhook(of: app), webhook.events.contains(event) else { return [] }
        let payload = JSONValue.object([
            "type": .string(event.rawValue), "timestamp": .string(WireTime.format(time)), "data": .object(data.filter { $0.value != .null }),
        ])
        return [OutboxEntry(kind: OutboxKind.webhook, user: nil, subject: "msg_" + RandomToken.base32(byteCount: 16), payload: payload.compactString, availableAt: time)]
    }
}
