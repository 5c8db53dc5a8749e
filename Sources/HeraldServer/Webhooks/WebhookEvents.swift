import Foundation
import HeraldCore
import HeraldStore

/// Turns domain events into webhook outbox rows, for the apps that subscribed to them. The caller
/// writes the rows in the same transaction as the change they report, so an event is never lost
/// nor reported for a change that was not committed.
struct WebhookEvents: Sendable {
    let store: any WebhookStore

    /// Zero or one row: the Standard Webhooks payload `{"type", "timestamp", "data"}` with a fresh
    /// message id (`webhook-id`, the same for every attempt). `user` is the customer the event is about:
    /// their erasure removes the row if it is still queued.
    func entries(for event: WebhookEvent, app: AppID, user: UserID?, data: [String: JSONValue], at time: Date) async throws -> [OutboxEntry] {
        try await maker(for: event, app: app, user: user, at: time)(data)
    }

    /// The same, for rows whose data is known only inside the store's transaction (a new device's id):
    /// the subscription is read now, the row made when the store calls the result.
    func maker(for event: WebhookEvent, app: AppID, user: UserID?, at time: Date) async throws -> @Sendable ([String: JSONValue]) -> [OutboxEntry] {
        guard let (webhook, _) = try await store.webhook(of: app), webhook.events.contains(event) else { return { _ in [] } }
        return { data in
            let payload = JSONValue.object([
                "type": .string(event.rawValue), "timestamp": .string(WireTime.format(time)), "data": .object(data.filter { $0.value != .null }),
            ])
            return [OutboxEntry(kind: OutboxKind.webhook, user: user, subject: "msg_" + RandomToken.base32(byteCount: 16), payload: payload.compactString, availableAt: time)]
        }
    }

    /// The data of a device event: ids and the key's thumbprint, never the push token.
    static func deviceData(_ device: Device, user: UserID) -> [String: JSONValue] {
        [
            "userId": .string(user.rawValue), "deviceId": .string(device.id.rawValue), "platform": .string(device.platform.rawValue),
            "stepUpState": device.stepUpState.map { .string($0.rawValue) } ?? .null, "thumbprint": device.stepUpKey.map { .string($0.thumbprint) } ?? .null,
        ]
    }
}
