import Foundation
import HeraldCore
import HeraldStore
import Testing

/// The rest of every `Store` backend: what belongs to an app (keys, settings, templates, webhooks, push
/// credentials), customers' devices, and the compliance work (audit, erasure, retention, stats,
/// export). Each test runs once per `StoreBackend`.
@Suite("Store conformance: app settings, devices and compliance")
struct AccountStoreConformanceTests {
    private let ana = StoreFixture.ana
    private let ben = StoreFixture.ben

    @Test("Signing keys: one created on first use even when asked at once, rotation puts the new key first", arguments: StoreBackend.allCases)
    func signingKeys(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await fixture.appWithAnaAndBen()
            let first = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<4 { group.addTask { try await store.signingKeys(of: app).map(\.kid) } }
                return try await group.reduce(into: Set<[String]>()) { $0.insert($1) }
            }
            #expect(first.count == 1 && first.first?.count == 1, "every caller saw the same single key")
            let rotated = try await store.rotateSigningKey(of: app)
            try await fixture.restart()
            let keys = try await fixture.store.signingKeys(of: app)
            #expect(keys.map(\.kid) == [rotated.kid] + (first.first ?? []))
            #expect(keys.first?.rawRepresentation == rotated.rawRepresentation)
        }
    }

    @Test("A token epoch read once is still the one answered after a revocation or an erasure: never a remembered, stale one", arguments: StoreBackend.allCases)
    func tokenEpochsFollowRevocationAndErasure(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await fixture.appWithAnaAndBen()
            _ = try await store.userIsActive(ana, in: app)
            let first = try #require(try await store.tokenEpoch(of: ana, in: app))
            let benFirst = try await store.tokenEpoch(of: ben, in: app)
            #expect(!first.isEmpty)
            #expect(store.cachedTokenEpoch(ofActive: ana, in: app) == (backend == .sqlite ? first : nil), "SQLite remembers; PostgreSQL never does")

            #expect(try await store.revokeTokens(of: ana, in: app))

            let second = try #require(try await store.tokenEpoch(of: ana, in: app))
            #expect(second != first)
            #expect(store.cachedTokenEpoch(ofActive: ana, in: app) == (backend == .sqlite ? second : nil))
            #expect(try await store.tokenEpoch(of: ben, in: app) == benFirst)

            #expect(try await store.eraseUser(ana, in: app))

            #expect(store.cachedTokenEpoch(ofActive: ana, in: app) == nil)
            #expect(try await store.tokenEpoch(of: ana, in: app) == nil)
            _ = try await store.putUser(ana, profile: UserProfile(name: "Ana again"), in: app)
            let third = try #require(try await store.tokenEpoch(of: ana, in: app))
            #expect(![first, second].contains(third), "created again, with a fresh epoch")
        }
    }

    @Test("Settings default, then change atomically; templates number their versions per key", arguments: StoreBackend.allCases)
    func settingsAndTemplates(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await fixture.appWithAnaAndBen()
            #expect(try await store.settings(of: app) == AppSettings())
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        _ = try await store.updateSettings(of: app) { settings in
                            var settings = settings
                            settings.linkPolicy.allowedDomains.append("d\(index).example")
                            return settings
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(Set(try await store.settings(of: app).linkPolicy.allowedDomains) == Set((0..<8).map { "d\($0).example" }), "no update was lost")

            let key = TemplateKey(rawValue: "alert")!
            let versions = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<5 {
                    group.addTask {
                        try await store.putTemplate(key, TemplateDefinition(category: .security, title: "v\(index)", body: "b"), in: app).version
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(versions.sorted() == [1, 2, 3, 4, 5])
            _ = try await store.putTemplate(TemplateKey(rawValue: "other")!, TemplateDefinition(category: .security, title: "o", body: "b"), in: app)
            #expect(try await store.template(key, version: nil, in: app)?.version == 5)
            #expect(try await store.template(key, version: 2, in: app)?.version == 2)
            #expect(try await store.template(key, version: 9, in: app) == nil)
            #expect(try await store.templates(in: app).map { "\($0.key.rawValue)@\($0.version)" } == ["alert@5", "other@1"])
        }
    }

    @Test("Webhooks, push credentials and VAPID keys are per app, sealed, replaced and deleted", arguments: StoreBackend.allCases)
    func appCredentials(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await fixture.appWithAnaAndBen()
            let other = try await fixture.appWithAnaAndBen()
            _ = try await store.putWebhook(url: "https://a.example/hook", events: [.actionPerformed], secret: "s1", in: app)
            _ = try await store.putWebhook(url: "https://b.example/hook", events: WebhookEvent.allCases, secret: "s2", in: app)
            let hook = try #require(try await store.webhook(of: app))
            #expect(hook.webhook.url == "https://b.example/hook" && hook.secret == "s2" && hook.webhook.events == WebhookEvent.allCases)
            #expect(try await store.webhook(of: other) == nil)
            for attempt in 1...3 {
                try await store.recordDelivery(
                    WebhookDelivery(
                        messageId: "m\(attempt)", event: "action.performed", attempt: attempt, url: "https://b.example/hook", statusCode: attempt == 3 ? nil : 500,
                        error: attempt == 3 ? "timeout" : nil, durationMilliseconds: 10, at: fixture.clock.now, outcome: .failed), app: app)
            }
            let newest = try await store.deliveries(of: app, limit: 2, before: nil)
            #expect(newest.map(\.delivery.messageId) == ["m3", "m2"])
            #expect(newest.first?.delivery.statusCode == nil && newest.first?.delivery.error == "timeout")
            #expect(try await store.deliveries(of: app, limit: 5, before: newest.last?.id).map(\.delivery.messageId) == ["m1"])
            #expect(try await store.deleteWebhook(of: app))
            #expect(try await !store.deleteWebhook(of: app))

            try await store.putPushCredentials(.apns, secret: Data("p8".utf8), in: app)
            try await store.putPushCredentials(.apns, secret: Data("p8-new".utf8), in: app)
            #expect(try await store.pushCredentials(.apns, of: app) == Data("p8-new".utf8))
            #expect(try await store.pushCredentials(.apns, of: other) == nil)
            #expect(try await store.deletePushCredentials(.apns, of: app))
            #expect(try await store.pushCredentials(.apns, of: app) == nil)
            let vapid = try await store.vapidKey(of: app)
            #expect(vapid.count == 32)
            #expect(try await store.vapidKey(of: app) == vapid)
            #expect(try await store.vapidKey(of: other) != vapid)
        }
    }

    @Test("Devices: a token re-registered updates, moves to a new owner, and the per-user limit holds", arguments: StoreBackend.allCases)
    func devices(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await fixture.appWithAnaAndBen()
            let first = try await store.registerDevice(NewDevice(platform: .apns, token: "t1"), for: ana, in: app)
            let again = try await store.registerDevice(NewDevice(platform: .apns, token: "t1"), for: ana, in: app)
            #expect(first.created && !again.created && again.device.id == first.device.id)
            let moved = try await store.registerDevice(NewDevice(platform: .apns, token: "t1"), for: ben, in: app)
            #expect(moved.created)
            #expect(try await store.devices(of: ana, in: app).isEmpty)
            #expect(try await store.device(moved.device.id, of: ben, in: app)?.token == "t1")
            #expect(try await store.device(moved.device.id, of: ana, in: app) == nil)

            for index in 1..<Limits.devicesPerUser { _ = try await store.registerDevice(NewDevice(platform: .fcm, token: "f\(index)"), for: ben, in: app) }
            await #expect(throws: HeraldError.self) { _ = try await store.registerDevice(NewDevice(platform: .fcm, token: "one-too-many"), for: ben, in: app) }
            #expect(try await store.devices(of: ben, in: app).count == Limits.devicesPerUser)
            #expect(try await store.deleteDevice(moved.device.id, of: ben, in: app))
            #expect(try await !store.deleteDevice(moved.device.id, of: ben, in: app))

            let delivery = PushDelivery(
                userId: ben, deviceId: moved.device.id, platform: .apns, subject: .inbox, subjectId: "item", attempt: 1, outcome: .accepted, statusCode: 200,
                reason: nil, at: fixture.clock.now)
            try await store.recordPushDeliveries([delivery, delivery], app: app)
            #expect(try await store.pushDeliveries(of: ben, in: app, limit: 10, before: nil).map(\.delivery) == [delivery, delivery])
            #expect(try await store.pushDeliveries(of: ana, in: app, limit: 10, before: nil).isEmpty)
        }
    }

    @Test("Audit chains append concurrently, verify, and page per app", arguments: StoreBackend.allCases)
    func audit(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await fixture.appWithAnaAndBen()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        try await store.recordAudit(
                            NewAuditEvent(chain: index.isMultiple(of: 2) ? .app(app) : .operator, actor: "test", action: "a\(index)", target: "t"))
                    }
                }
                try await group.waitForAll()
            }
            let verified = try await store.verifyAudit()
            #expect(verified.checked == 20)
            #expect(verified.heads.count == 2)
            let events = try await store.auditEvents(of: app, after: nil, limit: 100)
            #expect(events.map(\.seq) == Array(1...10))
            let rest = try await store.auditEvents(of: app, after: events[4].id, limit: 100)
            #expect(rest.map(\.seq) == Array(6...10))
        }
    }

    @Test("Erasure leaves tombstones, removes the rest, and the export of a user holds what is theirs", arguments: StoreBackend.allCases)
    func erasureAndExport(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await fixture.appWithAnaAndBen()
            let channel = try await store.createChannel(NewChannel(type: .direct, members: [ana, ben]), in: app).channel
            let said = try await store.append(AppendRequest(app: app, channel: channel.id, sender: ana, content: MessageContent(text: "mine"))).message
            _ = try await store.append(AppendRequest(app: app, channel: channel.id, sender: ben, content: MessageContent(text: "his")))
            _ = try await store.registerDevice(NewDevice(platform: .apns, token: "t"), for: ana, in: app)
            _ = try await store.updatePreferences(of: ana, in: app) { preferences in
                var preferences = preferences
                preferences.consents.marketing = true
                return preferences
            }

            let export = try #require(try await store.export(ana, in: app))
            #expect(export.user.id == ana)
            #expect(export.messages.map(\.text) == ["mine"])
            #expect(export.channels.map(\.channel.id) == [channel.id])
            #expect(export.devices.map(\.token) == ["t"])
            #expect(export.consentChanges.map(\.granted) == [true])

            #expect(try await store.eraseUser(ana, in: app))
            #expect(try await !store.eraseUser(ana, in: app))
            #expect(try await store.user(ana, in: app) == nil)
            #expect(try await !store.userIsActive(ana, in: app))
            #expect(try await store.userIsActive(ben, in: app))
            #expect(try await store.export(ana, in: app) == nil)
            let history = try await store.history(of: channel.id, in: app, query: HistoryQuery(after: 0))
            #expect(history.messages.map(\.seq) == [1, 2], "seqs stay gap-free")
            #expect(history.messages.first?.id == said.id && history.messages.first?.erased == true && history.messages.first?.text == "")
            #expect(history.messages.last?.text == "his")
            #expect(try await store.devices(of: ana, in: app).isEmpty)
        }
    }

    @Test("Retention turns old messages into tombstones and deletes old items, a batch at a time", arguments: StoreBackend.allCases)
    func retention(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await fixture.appWithAnaAndBen()
            let channel = try await store.createChannel(NewChannel(type: .group, members: [ana, ben], name: "team"), in: app).channel
            for index in 0..<3 { _ = try await store.append(AppendRequest(app: app, channel: channel.id, sender: ana, content: MessageContent(text: "old\(index)"))) }
            fixture.clock.advance(by: 3600)
            let cutoff = fixture.clock.now
            _ = try await store.append(AppendRequest(app: app, channel: channel.id, sender: ana, content: MessageContent(text: "new")))

            #expect(try await store.expireContent(of: app, createdBefore: cutoff, limit: 2) == (messages: 2, inboxItems: 0))
            #expect(try await store.expireContent(of: app, createdBefore: cutoff, limit: 2) == (messages: 1, inboxItems: 0))
            #expect(try await store.expireContent(of: app, createdBefore: cutoff, limit: 2) == (messages: 0, inboxItems: 0))
            let history = try await store.history(of: channel.id, in: app, query: HistoryQuery(after: 0))
            #expect(history.messages.map(\.seq) == [1, 2, 3, 4])
            #expect(history.messages.map(\.deleted) == [true, true, true, false])
        }
    }

    @Test("Engagement counts what was sent, delivered, read and acted on, with medians and opt-outs", arguments: StoreBackend.allCases)
    func engagement(backend: StoreBackend) async throws {
        try await backend.withFixture { fixture in
            let store = fixture.store
            let app = try await fixture.appWithAnaAndBen()
            let start = fixture.clock.now
            let sent = OutgoingNotification(
                id: .generate(), app: app, category: .marketing, source: .content(title: "Offer", body: "Now"), templateVersion: nil,
                audience: .users([ana, ben]), data: nil, actions: nil, sendAt: nil, expiresAt: nil, createdAt: start, status: .sending)
            _ = try await store.createNotification(sent, idempotency: nil)
            let items = [ana, ben].map {
                InboxItem(
                    id: .generate(), notificationId: sent.id, recipient: $0, category: .marketing, title: "Offer", body: "Now", data: nil, actions: nil,
                    createdAt: start, expiresAt: nil)
            }
            try await store.insertInboxItems(items, app: app, now: start)
            fixture.clock.advance(by: 10)
            _ = try await store.markInboxItemRead(items[0].id, of: ana, in: app)
            fixture.clock.advance(by: 20)
            _ = try await store.markInboxItemRead(items[1].id, of: ben, in: app)
            _ = try await store.updatePreferences(of: ben, in: app) { preferences in
                var preferences = preferences
                preferences.consents.marketing = true
                return preferences
            }
            _ = try await store.updatePreferences(of: ben, in: app) { preferences in
                var preferences = preferences
                preferences.consents.marketing = false
                return preferences
            }

            let report = try await store.engagement(of: app, from: start, to: start.addingTimeInterval(3600))
            let marketing = try #require(report.categories[NotificationCategory.marketing.rawValue])
            #expect(marketing.sent == 2 && marketing.read == 2 && marketing.delivered == 2 && marketing.acted == 0)
            #expect(marketing.medianSecondsToRead == 20, "the mean of 10 and 30")
            #expect(marketing.medianSecondsToAct == nil)
            #expect(marketing.optOuts == 1 && marketing.optOutRate == 0.5)
            #expect(report.categories[NotificationCategory.security.rawValue]?.sent == 0)
        }
    }
}
