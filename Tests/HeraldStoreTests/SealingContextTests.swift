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
        let app = AppID(rawValue: "app_" + String(repeating: "a", count: 26))!
        let a26 = String(repeating: "a", count: 26)
        #expect(SealingContext.message(channel: "ch_1", id: "msg_2") == "message|ch_1|msg_2")
        #expect(SealingContext.user(app: "app_1", id: "ana") == "user|app_1|ana")
        #expect(SealingContext.notification("ntf_1") == "notification|ntf_1")
        #expect(SealingContext.inboxItem("itm_1") == "inbox|itm_1")
        #expect(SealingContext.inboxInput("itm_1") == "inbox.input|itm_1")
        #expect(SealingContext.channelName("ch_1") == "channel.name|ch_1")
        #expect(SealingContext.outbox(app: app, kind: .webhook, subject: nil) == "outbox|app_\(a26)|webhook|")
        #expect(SealingContext.outbox(app: app, kind: .followUp, subject: "s") == "outbox|app_\(a26)|followUp|s")
        #expect(SealingContext.pushCredential(app: "app_1", provider: .vapid) == "pushCredential:app_1:vapid")
        #expect(SealingContext.webhookSecret(app) == "webhookSecret:app_\(a26)")
        #expect(SealingContext.tokenKey(kid: "k1", app: "app_1") == "tokenKey:app_1:k1")
        #expect(SealingContext.signingKey(kid: "k1", app: "app_1") == "signingKey:app_1:k1")
        #expect(SealingContext.appKey(app) == "appKey|app_\(a26)")
        #expect(SealingContext.dataKey(app: app, ownerColumn: "u:ana") == "dataKey|app_\(a26)|u:ana")
        #expect(SealingContext.auditKey == "auditKey")
    }
}
