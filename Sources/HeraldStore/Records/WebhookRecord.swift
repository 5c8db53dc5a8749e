import Foundation
import GRDB
import HeraldCore

/// An app's webhook, its signing secret sealed with the app's key, as both backends store it.
struct WebhookRecord: Codable, FetchableRecord {
    var url: String
    /// JSON list of `WebhookEvent`.
    var events: String
    var sealedSecret: Data
    var createdAt: Int64

    static let columns = "url, events, sealedSecret, createdAt"

    init(url: String, events: [WebhookEvent], secret: String, app: AppID, appKey: DataKey, at time: Int64) throws {
        self.url = url
        self.events = String(decoding: try JSONEncoder().encode(events), as: UTF8.self)
        sealedSecret = try appKey.seal(Data(secret.utf8), context: SealingContext.webhookSecret(app))
        createdAt = time
    }

    func webhook(app: AppID, appKey: DataKey) throws -> (webhook: Webhook, secret: String) {
        let secret = try appKey.open(sealedSecret, context: SealingContext.webhookSecret(app))
        let events = try JSONDecoder().decode([WebhookEvent].self, from: Data(events.utf8))
        return (Webhook(url: url, events: events, createdAt: WireTime.date(milliseconds: createdAt)), String(decoding: secret, as: UTF8.self))
    }
}

/// One row of the webhook delivery log, as both backends read it.
struct WebhookDeliveryRecord: Codable, FetchableRecord {
    var id: Int64
    var messageID: String
    var event: String
    var attempt: Int
    var url: String
    var statusCode: Int?
    var error: String?
    var durationMilliseconds: Int
    var at: Int64
    var outcome: WebhookDelivery.Outcome

    static let columns = "id, messageID, event, attempt, url, statusCode, error, durationMilliseconds, at, outcome"

    var delivery: (id: Int64, delivery: WebhookDelivery) {
        (
            id,
            WebhookDelivery(
                messageId: messageID, event: event, attempt: attempt, url: url, statusCode: statusCode, error: error,
                durationMilliseconds: durationMilliseconds, at: WireTime.date(milliseconds: at), outcome: outcome)
        )
    }
}
