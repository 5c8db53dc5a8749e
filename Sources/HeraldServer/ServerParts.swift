import Foundation
import HeraldStore
import Logging

/// The long-lived parts that routes, the realtime gateway and workers share, built once per server.
struct ServerParts: Sendable {
    let configuration: ServerConfiguration
    let store: any Store
    let hub: Hub
    let tokens: UserTokens
    let signer: BusinessSigner
    let notifications: NotificationService
    let logger: Logger

    init(configuration: ServerConfiguration, store: any Store, hub: Hub, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.hub = hub
        self.logger = logger
        tokens = UserTokens(store: store, now: configuration.now)
        signer = BusinessSigner(store: store, now: configuration.now)
        notifications = NotificationService(store: store, hub: hub, signer: signer, now: configuration.now, logger: logger)
    }
}
