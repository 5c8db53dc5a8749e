import Crypto
import Foundation
import HeraldCore
import HeraldPush
import HeraldStore

/// The three push providers on one shared HTTP/2 client, and what each app configured for them.
struct PushProviders: Sendable {
    let http: PushHTTPClient
    let apns: APNsClient
    let fcm: FCMClient
    let webPush: WebPushClient

    init(configuration: ServerConfiguration) throws {
        http = try PushHTTPClient(allowsPrivateTargets: configuration.allowsPrivateTargets, extraCAFile: configuration.extraCAFile)
        apns = APNsClient(http: http, tokens: APNsTokenSigner(now: configuration.now), baseURL: configuration.apnsURL, now: configuration.now)
        fcm = FCMClient(http: http, tokens: FCMAccessTokens(http: http, tokenURL: configuration.fcmTokenURL, now: configuration.now), baseURL: configuration.fcmURL, now: configuration.now)
        webPush = WebPushClient(http: http, now: configuration.now)
    }

    func shutdown() async {
        await http.shutdown()
    }

    /// Sends `push` to one device with the app's credentials for its platform; `nil` when the app
    /// has none (the push is skipped, not retried). A Web Push subscription past its `expirationTime` is
    /// gone at the push service: unregistered, without asking it.
    func send(_ push: PushNotification, to device: Device, setup: AppPushSetup, category: NotificationCategory?, at now: Date) async -> PushResult? {
        switch device.platform {
        case .apns:
            guard let credentials = setup.apns else { return nil }
            return await apns.send(push, deviceToken: device.token, credentials: credentials)
        case .fcm:
            guard let account = setup.fcm else { return nil }
            return await fcm.send(push, deviceToken: device.token, account: account)
        case .webpush:
            guard let subscription = device.subscription else { return PushResult(.unregistered, reason: "no subscription") }
            if subscription.hasExpired(at: now) { return PushResult(.unregistered, reason: "subscription expired") }
            return await webPush.send(push, to: subscription, vapid: setup.vapid, category: category)
        }
    }
}

/// One app's push configuration, loaded once per worker pass.
struct AppPushSetup: Sendable {
    let app: App
    let settings: AppSettings
    let apns: APNsCredentials?
    let fcm: FCMServiceAccount?
    let vapid: VAPID

    static func load(_ id: AppID, store: any AppStore & PushStore & SettingsStore) async throws -> AppPushSetup? {
        guard let app = try await store.app(id) else { return nil }
        let decoder = JSONDecoder()
        let apns = try await store.pushCredentials(.apns, of: id).flatMap { try? decoder.decode(APNsCredentials.self, from: $0) }
        let fcm = try await store.pushCredentials(.fcm, of: id).flatMap { try? decoder.decode(FCMServiceAccount.self, from: $0) }
        let vapid = VAPID(key: try P256.Signing.PrivateKey(rawRepresentation: try await store.vapidKey(of: id)))
        return AppPushSetup(app: app, settings: try await store.settings(of: id), apns: apns, fcm: fcm, vapid: vapid)
    }
}
