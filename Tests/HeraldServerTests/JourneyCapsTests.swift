import Foundation
import HeraldCore
@testable import HeraldServer
import HeraldStore
import PropertyBased
import Testing

/// Frequency caps and marketing consent, by property: for generated caps and generated sequences of
/// events, consent changes and time passing, no customer ever holds more items of a category within a
/// cap's window than the cap, nor a marketing item sent while they had not consented; security is
/// never capped.
@Suite("Journeys: caps and consent, by property")
struct JourneyCapsTests {
    enum Action: Equatable {
        case event(String, user: Int)
        case consent(Bool, user: Int)
        case wait(minutes: Int)
    }

    static let users = ["ana", "ben", "cat"]
    static let names = ["promo", "info", "alert"]
    static let windows = [("30m", 1_800.0), ("1h", 3_600.0), ("1d", 86_400.0)]

    static let action = Gen.int(in: 0...99).map { number -> Action in
        switch number % 5 {
        case 0, 1, 2: .event(names[number % 3], user: (number / 5) % 3)
        case 3: .consent(number % 2 == 0, user: (number / 5) % 3)
        default: .wait(minutes: [5, 20, 45, 90][(number / 5) % 4])
        }
    }

    @Test("No customer holds more of a category within a window than its cap, nor marketing sent without consent")
    func capsAndConsentHold() async {
        await propertyCheck(count: 12, input: Self.action.array(of: 1...16), Gen.int(in: 1...3), Gen.int(in: 0...2), Gen.int(in: 1...2)) {
            actions, marketingCap, window, infoCap in
            do {
                try await check(actions, marketingCap: marketingCap, window: Self.windows[window], infoCap: infoCap)
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    private func check(_ actions: [Action], marketingCap: Int, window: (String, Double), infoCap: Int) async throws {
        let clock = TestClock("2026-12-01T09:00:00Z")
        try await TestHarness.with(clock: clock) { harness in
            let store = harness.store
            let app = harness.app
            for (key, category) in [("promo", NotificationCategory.marketing), ("info", .transactional), ("alert", .security)] {
                _ = try await store.putTemplate(TemplateKey(rawValue: key)!, TemplateDefinition(category: category, title: key, body: "b"), in: app)
                let journey = """
                    {"name":"\(key)","category":"\(category.rawValue)","trigger":{"event":"\(key)"},"entry":{"always":true},
                     "steps":[{"id":"send","send":{"template":"\(key)"}}]}
                    """
                _ = try await harness.parts.journeys.put(JourneyKey(rawValue: key)!, body: Data(journey.utf8), app: app)
            }
            _ = try await store.updateSettings(of: app) { settings in
                try settings.merging(
                    body: Data(#"{"journeys":{"caps":{"marketing":{"count":\#(marketingCap),"per":"\#(window.0)"},"transactional":{"count":\#(infoCap),"per":"\#(window.0)"}}}}"#.utf8))
            }
            var consents: [String: Bool] = [:]
            var marketingSeen: [String: Int] = [:]
            let worker = harness.parts.journeyWorker()
            for action in actions {
                switch action {
                case .event(let name, let user):
                    _ = try await harness.parts.journeys.record(
                        NewCustomerEvent(user: harness.user(Self.users[user]), name: name, occurredAt: clock.now()), app: app, idempotency: nil)
                case .consent(let granted, let user):
                    _ = try await store.updatePreferences(of: harness.user(Self.users[user]), in: app) { preferences in
                        var preferences = preferences
                        preferences.consents.marketing = granted
                        return preferences
                    }
                    consents[Self.users[user]] = granted
                case .wait(let minutes):
                    clock.advance(by: Double(minutes) * 60)
                }
                for _ in 0..<20 where try await worker.runOnce() > 0 {}
                // A marketing item that appeared now was sent now, under the consent the customer has now.
                for name in Self.users {
                    let count = try await store.inbox(of: harness.user(name), in: app, query: InboxQuery(limit: 200, category: .marketing)).items.count
                    if count > marketingSeen[name, default: 0] {
                        #expect(consents[name] == true, "\(name) got marketing without consent; \(actions)")
                    }
                    marketingSeen[name] = count
                }
            }
            var sentAlerts = 0
            for name in Self.users {
                let items = try await store.inbox(of: harness.user(name), in: app, query: InboxQuery(limit: 200)).items
                for (category, cap) in [(NotificationCategory.marketing, marketingCap), (.transactional, infoCap)] {
                    let times = items.filter { $0.category == category }.map(\.createdAt).sorted()
                    for (index, start) in times.enumerated() {
                        let inWindow = times[index...].prefix { $0.timeIntervalSince(start) < window.1 }.count
                        #expect(inWindow <= cap, "\(name): \(inWindow) \(category) items within \(window.0) of \(start), cap \(cap); \(actions)")
                    }
                }
                sentAlerts += items.filter { $0.category == .security }.count
            }
            let alerts = actions.filter { if case .event("alert", _) = $0 { true } else { false } }.count
            #expect(sentAlerts == alerts, "security is never capped")
        }
    }
}

/// The worker's gate: one pass at a time on a node; a caller arriving during a pass makes it go round
/// once more instead of passing beside it.
@Suite("Journey worker's pass gate")
struct PassGateTests {
    @Test("One pass at a time; a second caller makes the first go round again, once")
    func oneAtATime() {
        let gate = PassGate()
        #expect(gate.enter())
        #expect(!gate.enter(), "a pass is running")
        #expect(!gate.enter(), "still one")
        #expect(gate.leaveOrGoAgain(), "asked to go again (twice asked, once more)")
        #expect(!gate.leaveOrGoAgain(), "nothing asked since: the pass ends")
        #expect(gate.enter(), "free again")
        #expect(!gate.leaveOrGoAgain())
    }
}
