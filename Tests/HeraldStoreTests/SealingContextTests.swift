import HeraldCore
@testable import HeraldStore
import Testing

/// The sealing contexts are part of the stored format: data sealed under one string opens only under
/// the same string, on either backend and after `herald store copy`. These literals are what every
/// existing database was written with; a change here makes stored content unreadable.
@Suite("Sealing contexts are the stored format")
struct SealingContextTests {
    @Test("Each context is exactly the string existing data was sealed with")
    func pinned() {
        let a26 = String(repeating: "a", count: 26)
        let app = AppID(rawValue: "app_" + a26)!
        let channel = ChannelID(rawValue: "ch_" + a26)!, message = MessageID(rawValue: "msg_" + a26)!
        let notification = NotificationID(rawValue: "ntf_" + a26)!, item = InboxItemID(rawValue: "inb_" + a26)!
        #expect(SealingContext.message(channel: channel, id: message) == "message|ch_\(a26)|msg_\(a26)")
        #expect(SealingContext.user(app: app, id: UserID(rawValue: "ana")!) == "user|app_\(a26)|ana")
        #expect(SealingContext.notification(notification) == "notification|ntf_\(a26)")
        #expect(SealingContext.inboxItem(item) == "inbox|inb_\(a26)")
        #expect(SealingContext.inboxInput(item) == "inbox.input|inb_\(a26)")
        #expect(SealingContext.channelName(channel) == "channel.name|ch_\(a26)")
        #expect(SealingContext.customerEvent(app: app, id: EventID(rawValue: "evt_" + a26)!) == "event|app_\(a26)|evt_\(a26)")
        #expect(SealingContext.journeyRun(app: app, id: JourneyRunID(rawValue: "jrn_" + a26)!) == "journeyRun|app_\(a26)|jrn_\(a26)")
        #expect(
            SealingContext.journeyDigestEntry(app: app, digest: JourneyDigestID(rawValue: "dig_" + a26)!, run: JourneyRunID(rawValue: "jrn_" + a26)!, step: "collect")
                == "journeyDigest|app_\(a26)|dig_\(a26)|jrn_\(a26)|collect")
        #expect(SealingContext.outbox(app: app, kind: .webhook, subject: nil) == "outbox|app_\(a26)|webhook|")
        #expect(SealingContext.outbox(app: app, kind: .followUp, subject: "s") == "outbox|app_\(a26)|followUp|s")
        #expect(SealingContext.pushCredential(app: app, provider: .vapid) == "pushCredential:app_\(a26):vapid")
        #expect(SealingContext.webhookSecret(app) == "webhookSecret:app_\(a26)")
        #expect(SealingContext.tokenKey(kid: "k1", app: app) == "tokenKey:app_\(a26):k1")
        #expect(SealingContext.signingKey(kid: "k1", app: app) == "signingKey:app_\(a26):k1")
        #expect(SealingContext.appKey(app) == "appKey|app_\(a26)")
        #expect(SealingContext.dataKey(app: app, ownerColumn: "u:ana") == "dataKey|app_\(a26)|u:ana")
        #expect(SealingContext.auditKey == "auditKey")
    }
}
