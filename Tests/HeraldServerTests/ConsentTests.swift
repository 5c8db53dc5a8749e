import Foundation
import HeraldCore
@testable import HeraldServer
import HeraldStore
import Testing

@Suite("Consent, quiet hours and schedules")
struct ConsentTests {
    static let offer = #"{"recipients":["ana","ben"],"category":"marketing","content":{"title":"10% off","body":"This week only"}}"#

    @Test("Preferences: marketing is off by default, changes merge, the business reads them on the user")
    func preferences() async throws {
        try await TestHarness.with { harness in
            let ana = try await harness.token(for: "ana")
            try await harness.run { client in
                let initial = try await client.request(.get, "/v1/me/preferences", auth: ana).decode(UserPreferences.self)
                _ = try await client.request(.put, "/v1/me/preferences", auth: ana, body: #"{"consents":{"marketing":true}}"#)
                let changed = try await client.request(.put, "/v1/me/preferences", auth: ana, body: #"{"quietHours":{"start":"22:00","end":"08:00"}}"#)
                let seen = try await client.request(.get, "/v1/users/ana", auth: harness.apiKey).decode(User.self)
                let bad = try await client.request(.put, "/v1/me/preferences", auth: ana, body: #"{"quietHours":{"start":"25:00"},"consents":{"sms":true}}"#)

                #expect(initial == UserPreferences())
                #expect(try changed.decode(UserPreferences.self) == UserPreferences(marketing: true, quietHours: QuietHours(start: 22 * 60, end: 8 * 60)))
                #expect(seen.preferences.consents.marketing && seen.preferences.quietHours?.start == 1320)
                #expect(bad.status == .unprocessableContent)
                #expect(bad.problem?.errors?.map(\.field).sorted() == ["consents.sms", "quietHours.end", "quietHours.start"])
            }
        }
    }

    @Test("Marketing reaches only users who consented; security reaches everyone")
    func marketingNeedsConsent() async throws {
        try await TestHarness.with { harness in
            _ = try await harness.store.updatePreferences(of: harness.user("ana"), in: harness.app) { _ in UserPreferences(marketing: true) }
            let (ana, ben) = (try await harness.token(for: "ana"), try await harness.token(for: "ben"))
            try await harness.run { client in
                let offer = try await client.request(.post, "/v1/notifications", auth: harness.apiKey, body: Self.offer).decode(SentNotification.self)
                let alert = try await client.request(
                    .post, "/v1/notifications", auth: harness.apiKey,
                    body: #"{"recipients":["ana","ben"],"category":"security","content":{"title":"New sign-in","body":"Was it you?"}}"#
                ).decode(SentNotification.self)

                #expect(offer.recipients == 1 && offer.skipped == 1)
                #expect(alert.recipients == 2 && alert.skipped == 0)
                #expect(try await client.inbox(ana).items.map(\.title) == ["New sign-in", "10% off"])
                #expect(try await client.inbox(ben).items.map(\.title) == ["New sign-in"])
            }
        }
    }

    @Test("Marketing waits out the user's quiet hours in their own time zone, then arrives live; security does not wait")
    func quietHours() async throws {
        // 14:30 UTC is 23:30 in Seoul: inside 22:00–08:00 there, outside it for ben (UTC, no window).
        let clock = TestClock("2026-11-25T14:30:00Z")
        try await TestHarness.with(clock: clock) { harness in
            _ = try await harness.store.putUser(harness.user("ana"), profile: UserProfile(name: "Ana", timezone: "Asia/Seoul"), in: harness.app)
            for name in ["ana", "ben"] {
                _ = try await harness.store.updatePreferences(of: harness.user(name), in: harness.app) { _ in
                    UserPreferences(marketing: true, quietHours: name == "ana" ? QuietHours(start: 22 * 60, end: 8 * 60) : nil)
                }
            }
            let ana = try await harness.token(for: "ana", ttlSeconds: 86_400)
            let ben = try await harness.token(for: "ben", ttlSeconds: 86_400)
            try await harness.run(.live) { client in
                let socket = try #require(try await client.readySocket(as: "ana", harness: harness))
                let offer = try await client.request(.post, "/v1/notifications", auth: harness.apiKey, body: Self.offer).decode(SentNotification.self)
                _ = try await client.request(
                    .post, "/v1/notifications", auth: harness.apiKey,
                    body: #"{"recipients":["ana"],"category":"security","content":{"title":"New sign-in","body":"Was it you?"}}"#)

                guard case .inboxCreated(let alert)? = await socket.next("inbox.created") else {
                    Issue.record("no security item")
                    return
                }
                let duringQuiet = try await client.inbox(ana)
                #expect(alert.title == "New sign-in")
                #expect(duringQuiet.items.map(\.title) == ["New sign-in"] && duringQuiet.unreadCount == 1)
                #expect(try await client.inbox(ben).items.map(\.title) == ["10% off"])
                #expect(offer.recipients == 2)

                clock.set("2026-11-25T23:00:00Z")  // 08:00 in Seoul
                try await harness.parts.notifications.runDue()

                guard case .inboxCreated(let held)? = await socket.next("inbox.created") else {
                    Issue.record("held item never released")
                    return
                }
                #expect(held.title == "10% off" && held.createdAt == WireTime.parse("2026-11-25T23:00:00Z"))
                #expect(try await client.inbox(ana).items.map(\.title) == ["10% off", "New sign-in"])
                await socket.close()
            }
        }
    }

    @Test("Quiet hours follow the local clock across midnight and daylight-saving changes")
    func quietHoursArithmetic() {
        let window = QuietHours(start: 22 * 60, end: 7 * 60)
        let paris = TimeZone(identifier: "Europe/Paris")!

        #expect(window.deliveryTime(for: WireTime.parse("2026-06-01T12:00:00Z")!, in: paris) == WireTime.parse("2026-06-01T12:00:00Z"))
        #expect(window.deliveryTime(for: WireTime.parse("2026-06-01T21:00:00Z")!, in: paris) == WireTime.parse("2026-06-02T05:00:00Z"))
        #expect(window.deliveryTime(for: WireTime.parse("2026-06-02T03:00:00Z")!, in: paris) == WireTime.parse("2026-06-02T05:00:00Z"))
        // The night clocks go back (25 October 2026): 07:00 local is 06:00 UTC the next morning.
        #expect(window.deliveryTime(for: WireTime.parse("2026-10-24T21:00:00Z")!, in: paris) == WireTime.parse("2026-10-25T06:00:00Z"))
    }

    @Test("A scheduled send survives a restart of the store and goes out when its time comes")
    func scheduledSurvivesRestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-schedule-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("herald.sqlite").path
        let masterKey = MasterKey.generate()
        let clock = TestClock("2026-11-25T09:00:00Z")
        var configuration = ServerConfiguration()
        configuration.now = clock.now

        let first = try SQLiteStore(path: path, masterKey: masterKey, now: clock.now)
        let app = try await first.createApp(name: "Acme").app.id
        _ = try await first.putUser(UserID(rawValue: "ana")!, profile: UserProfile(), in: app)
        let new = try NewNotification(
            body: Data(#"{"recipients":["ana"],"category":"transactional","content":{"title":"Payment due","body":"Tomorrow"},"sendAt":"2026-11-25T10:00:00Z"}"#.utf8),
            now: clock.now())
        let (scheduled, _) = try await ServerParts(configuration: configuration, store: first, hub: Hub(), logger: .init(label: "test"))
            .notifications.send(new, app: app, idempotency: nil)
        try await first.close()

        let second = try SQLiteStore(path: path, masterKey: masterKey, now: clock.now)
        let parts = ServerParts(configuration: configuration, store: second, hub: Hub(), logger: .init(label: "test"))
        try await parts.notifications.runDue()
        let early = try await second.notificationReport(scheduled.id, in: app)
        clock.advance(by: 3600)
        try await parts.notifications.runDue()
        let report = try await second.notificationReport(scheduled.id, in: app)
        let inbox = try await second.inbox(of: UserID(rawValue: "ana")!, in: app, query: InboxQuery())
        try await second.close()

        #expect(scheduled.status == .scheduled && early?.status == .scheduled && early?.recipients == 0)
        #expect(report?.status == .sent && report?.recipients == 1)
        #expect(inbox.items.map(\.title) == ["Payment due"])
    }
}
