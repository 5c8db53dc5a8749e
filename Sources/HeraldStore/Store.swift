public import Foundation
public import HeraldCore
public import struct NIOCore.ByteBuffer

/// Apps (tenants) and their credentials.
public protocol AppStore: Sendable {
    /// Creates an app with a fresh API key; the key's secret is returned once and stored only hashed.
    func createApp(name: String) async throws -> (app: App, apiKey: APIKey)
    func apps() async throws -> [App]
    func app(_ id: AppID) async throws -> App?
    /// Replaces the app's API key; the previous key stops working at once.
    func rotateAPIKey(of app: AppID) async throws -> APIKey
    /// The app a presented key belongs to, or nil. The secret is compared in constant time.
    func authenticate(_ key: APIKey) async throws -> AppID?
    /// The app whose current API key has this public id (to file a rejected key's audit event).
    func app(withKeyID keyID: String) async throws -> AppID?
    /// The key that signs the app's new user tokens (created on first use).
    func currentTokenKey(of app: AppID) async throws -> TokenSigningKey
    /// A token key by its `kid`, to verify a presented token.
    func tokenKey(kid: String) async throws -> TokenSigningKey?
    /// A new key signs the app's tokens from now on. Earlier keys still verify the tokens they signed
    /// until those expire; keys that stopped signing more than `Limits.maxTokenTTLSeconds` ago are deleted.
    func rotateTokenKey(of app: AppID) async throws -> TokenSigningKey
}

/// The customers of each app.
public protocol UserStore: Sendable {
    /// Creates the user or replaces their profile; `created` tells which.
    func putUser(_ id: UserID, profile: UserProfile, in app: AppID) async throws -> (user: User, created: Bool)
    func user(_ id: UserID, in app: AppID) async throws -> User?
    /// The users among `ids` that exist in the app, in no particular order.
    func recipients(_ ids: [UserID], in app: AppID) async throws -> [Recipient]
    /// The users whose metadata matches the segment (matched on keyed hashes: metadata stays sealed).
    func recipients(in segment: Segment, app: AppID, after: UserID?, limit: Int) async throws -> [Recipient]
    /// Replaces the user's preferences with `update(current)` in one transaction; a change of marketing
    /// consent is recorded (for the opt-out rate).
    /// - Throws: `HeraldError.notFound` when the user does not exist.
    func updatePreferences(of user: UserID, in app: AppID, _ update: @Sendable (UserPreferences) throws -> UserPreferences) async throws -> UserPreferences
    /// Everything stored about the user, or nil when there is no such user.
    func export(_ user: UserID, in app: AppID) async throws -> UserExport?
    /// The user's token epoch, which every token carries: a token whose epoch is not the current one no
    /// longer works. A new user gets a fresh random epoch (so an erased user created again does not
    /// revive old tokens); users from before epochs have "". Nil when the user does not exist. A
    /// revocation holds at once on every node: PostgreSQL reads it on every call (other nodes write it);
    /// SQLite, the only writer of its file, remembers what it read and forgets it when a change commits.
    func tokenEpoch(of user: UserID, in app: AppID) async throws -> String?
    /// The user's current token epoch when the store knows it without a read, and knows the user is not
    /// erased; nil otherwise (ask `tokenEpoch` and `userIsActive`). Lets a token be checked on an event
    /// loop, without a task (the realtime gateway's upgrade).
    func cachedTokenEpoch(ofActive user: UserID, in app: AppID) -> String?
    /// Gives the user a new epoch: every token issued until now stops working. False when no such user.
    func revokeTokens(of user: UserID, in app: AppID) async throws -> Bool
}

/// Channels, their members and read positions.
public protocol ChannelStore: Sendable {
    /// Creates a channel. A direct channel between the same two users is unique: asking again returns
    /// the existing one with `created == false`.
    /// - Throws: `HeraldError.invalid` naming members that are not users of the app.
    func createChannel(_ new: NewChannel, in app: AppID) async throws -> (channel: Channel, created: Bool)
    func channel(_ id: ChannelID, in app: AppID) async throws -> Channel?
    /// Adds users to a group; members already present are left as they are.
    func addMembers(_ users: [UserID], to channel: ChannelID, in app: AppID) async throws -> Channel
    func removeMember(_ user: UserID, from channel: ChannelID, in app: AppID) async throws -> Channel
    /// The user's channels, most recently active first, with unread counts and last messages.
    func channelSummaries(of user: UserID, in app: AppID) async throws -> [ChannelSummary]
    /// Moves the user's read position forward to `seq` (clamped to the channel's last seq; never back).
    func markRead(_ channel: ChannelID, upTo seq: Int64, by user: UserID, in app: AppID) async throws -> ReadPosition
    /// Moves many read positions in one transaction (the realtime gateway's coalesced `read` frames).
    /// Same rule as `markRead`; marks for a channel that is gone or a user who is no longer a member
    /// are skipped. Returns the positions that moved, each with its channel's app.
    func markRead(_ marks: [ReadMark]) async throws -> [(app: AppID, position: ReadPosition)]
}

/// Messages. Every write goes through one batching writer (group commit): many concurrent sends
/// share one transaction and one fsync.
public protocol MessageStore: Sendable {
    /// Appends a message, assigning the channel's next seq inside the commit (gap-free, strictly
    /// increasing). Returns only after the commit. With an idempotency key that was seen before, returns
    /// the first message (`isReplay`) and writes nothing.
    /// - Throws: `HeraldError.notFound` (no such channel in the app), `.forbidden` (the sender is not a
    ///   member), `.conflict` (the key was used with another body, where the key demands the same body).
    func append(_ request: AppendRequest) async throws -> AppendResult
    /// Appends several messages in one commit, in their order, with nothing of another writer's
    /// between them (a realtime socket's pipelined sends); one result per request, each as `append`
    /// would have returned or thrown it.
    func appendAll(_ requests: [AppendRequest]) async -> [Result<AppendResult, any Error>]
    /// Replaces the content of a message; it keeps its seq. A signed message is signed again with
    /// `signer`, or loses its signature when there is none. `byBusiness`: the business edits a customer's
    /// message (moderation), and the message shows `editedBy: business` rather than passing the words off
    /// as the customer's.
    func editMessage(_ id: MessageID, in channel: ChannelID, app: AppID, content: MessageContent, signer: MessageSigner?, byBusiness: Bool) async throws
        -> Message
    /// Turns a message into a tombstone that keeps its seq; deleting twice is not an error.
    func deleteMessage(_ id: MessageID, in channel: ChannelID, app: AppID) async throws -> Message
    func message(_ id: MessageID, in channel: ChannelID, app: AppID) async throws -> Message?
    func history(of channel: ChannelID, in app: AppID, query: HistoryQuery) async throws -> MessagePage
    /// The same page as `history`, as the wire's JSON (`HistoryPageWriter`), after the checks that
    /// guard it, made by the store beside the read: the channel must be the app's (`notFound`), and
    /// `member`, when given, one of its members (`Access.notMember`). The route's page: read at the
    /// rate customers open conversations (issue 20).
    func historyPage(of channel: ChannelID, in app: AppID, query: HistoryQuery, member: UserID?) async throws -> [UInt8]
}

/// The apps' Ed25519 keys for verified-sender signatures; private halves are stored sealed.
public protocol SigningKeyStore: Sendable {
    /// The app's keys, newest (the one that signs) first. The first call creates one.
    func signingKeys(of app: AppID) async throws -> [SigningKey]
    /// Adds a new key that signs from now on; older keys stay published so old signatures verify.
    func rotateSigningKey(of app: AppID) async throws -> SigningKey
}

/// Notification templates, versioned: each put adds a version, old versions stay readable.
public protocol TemplateStore: Sendable {
    /// Stores `definition` as the next version of `key` (1 for a new key).
    func putTemplate(_ key: TemplateKey, _ definition: TemplateDefinition, in app: AppID) async throws -> Template
    /// A version of a template, the latest when `version` is nil.
    func template(_ key: TemplateKey, version: Int?, in app: AppID) async throws -> Template?
    /// The latest version of every template, by key.
    func templates(in app: AppID) async throws -> [Template]
}

/// Notifications and their fan-out into inboxes.
public protocol NotificationStore: Sendable {
    /// Stores a new notification. With an idempotency key seen before, returns the first one instead
    /// (`isReplay`) and stores nothing.
    /// - Throws: `HeraldError.conflict` when the key was used with another body.
    func createNotification(_ notification: OutgoingNotification, idempotency: IdempotencyKey?) async throws -> (notification: OutgoingNotification, isReplay: Bool)
    func notification(_ id: NotificationID, in app: AppID) async throws -> OutgoingNotification?
    func notificationReport(_ id: NotificationID, in app: AppID) async throws -> NotificationReport?
    /// Claims, for `lease`, notifications whose `sendAt` has come and those left `sending` by a process
    /// that stopped (lease expired); they are `sending` afterwards.
    func claimDueNotifications(now: Date, lease: TimeInterval, limit: Int) async throws -> [OutgoingNotification]
    /// Where the notification's fan-out stands (`InboxWrite.Progress`): nothing written yet is `(nil, 0)`.
    func fanOutProgress(of notification: NotificationID) async throws -> (after: UserID?, seen: Int)
    /// Writes `write` in one transaction: its shared content, its items (a `push` outbox row for each
    /// entry that asks for one and whose recipient has a device) and its progress. Items whose `createdAt`
    /// is after `now` are held: they appear in the inbox (and are pushed) from that time on. A recipient
    /// who already has an item of the same notification is skipped, as is one who no longer exists.
    /// - Returns: the items written (only those may be announced).
    @discardableResult
    func writeInbox(_ write: InboxWrite, now: Date) async throws -> Set<InboxItemID>
    /// Marks items delivered (they reached a live connection), drops their pending pushes, and keeps the
    /// signatures made for them.
    func markDelivered(_ items: [InboxItemID], signatures: [InboxSignature], app: AppID) async throws
    /// Queues a `push` row for each item whose recipient has a device: for items meant for a live
    /// connection that was gone by the time they were published.
    func queuePushes(for items: [InboxItem], app: AppID, now: Date) async throws
    /// Marks the notification sent and writes `effects` (its webhook) in the same transaction.
    func completeNotification(_ id: NotificationID, audienceSize: Int, effects: [OutboxEntry]) async throws
    /// Marks a notification that can never be sent (`failed`), so it is not claimed again. A sent one stays sent.
    func failNotification(_ id: NotificationID) async throws
    /// Releases held items whose time has come, oldest first.
    func releaseDueInboxItems(now: Date, limit: Int) async throws -> [(app: AppID, item: InboxItem)]
}

/// Each customer's in-app inbox. Only released, unexpired items are visible.
public protocol InboxStore: Sendable {
    /// A page, newest first, and the exact unread count of the whole inbox. Marks the returned items delivered.
    func inbox(of user: UserID, in app: AppID, query: InboxQuery) async throws -> InboxPage
    /// The page as its response's JSON, which `render` writes from `inbox(of:in:query:)`'s page (signing
    /// what needs it). A backend may keep what `render` wrote and answer the same query again from memory
    /// while none of the customer's items changes or expires (SQLite: `InboxPages`); `render` must
    /// therefore depend on nothing but the page.
    func inboxPage(of user: UserID, in app: AppID, query: InboxQuery, render: @Sendable (InboxPage) async throws -> [UInt8]) async throws -> ByteBuffer
    /// One item, expired or not (callers decide what an expired item means), nil when not visible.
    func inboxItem(_ id: InboxItemID, of user: UserID, in app: AppID) async throws -> InboxItem?
    /// Marks read (the first read time is kept); also marks it delivered.
    func markInboxItemRead(_ id: InboxItemID, of user: UserID, in app: AppID) async throws -> InboxItem
    func archiveInboxItem(_ id: InboxItemID, of user: UserID, in app: AppID) async throws -> InboxItem
    /// Marks every visible unread item read (of one category when given); returns how many.
    func markAllInboxItemsRead(of user: UserID, in app: AppID, category: NotificationCategory?) async throws -> Int
    func unreadInboxCount(of user: UserID, in app: AppID) async throws -> Int
    /// Keeps signatures made for shared items on their first read; an item signed already keeps its own.
    func recordInboxSignatures(_ signatures: [InboxSignature], app: AppID) async throws
}


/// The tamper-evident audit trail: one hash chain per app and one for the operator.
public protocol AuditStore: Sendable {
    /// Appends the event to its chain; concurrent calls share one transaction (group commit). Returns once committed.
    func recordAudit(_ event: NewAuditEvent) async throws
    /// The app's events, oldest first, after `after` (an event id).
    func auditEvents(of app: AppID, after: Int64?, limit: Int) async throws -> [AuditEvent]
    /// Checks every chain from its first entry.
    /// - Returns: how many entries were checked and each chain's head hash (hex).
    /// - Throws: `AuditVerifier.Problem` naming the first entry that was changed, removed or reordered.
    func verifyAudit() async throws -> (checked: Int, heads: [String: String])
}

/// Erasure (GDPR Art. 17) by crypto-shredding.
public protocol ErasureStore: Sendable {
    /// Destroys the user's data key, then removes their profile, devices, inbox, memberships and pending
    /// work; their messages stay as erased tombstones. False when there is no such user.
    func eraseUser(_ user: UserID, in app: AppID) async throws -> Bool
    /// Whether the user exists (and is not erased); answered from the key cache when possible.
    func userIsActive(_ user: UserID, in app: AppID) async throws -> Bool
}

/// Customers' devices: push targets and step-up keys (the rules are `DeviceRules`).
public protocol DeviceStore: Sendable {
    /// Registers a device. The same token registered again by the same user updates that device (and
    /// enrols a key, `pending`, if it had none); by another user, it moves to them as a new device when
    /// the old one has no step-up key. `effects(device)` are written in the same transaction when a key
    /// is enrolled.
    /// - Throws: `HeraldError.conflict` beyond `Limits.devicesPerUser`; `conflictBecause` with
    ///   `step_up_key_exists` (another key for a device that has one) or `push_token_in_use` (the token is
    ///   another customer's device with a step-up key).
    func registerDevice(_ device: NewDevice, for user: UserID, in app: AppID, effects: @escaping @Sendable (Device) -> [OutboxEntry]) async throws
        -> DeviceRegistration
    /// Makes the device's step-up key active (idempotent); `effects(device)` are written in the same
    /// transaction when it changed.
    /// - Throws: `notFound` (no such device of the user), `conflictBecause` (the device has no key).
    func activateStepUpKey(of device: DeviceID, of user: UserID, in app: AppID, effects: @escaping @Sendable (Device) -> [OutboxEntry]) async throws
        -> (device: Device, changed: Bool)
    /// Oldest first.
    func devices(of user: UserID, in app: AppID) async throws -> [Device]
    func device(_ id: DeviceID, of user: UserID, in app: AppID) async throws -> Device?
    /// False when the user has no such device; `effects` are written in the same transaction otherwise.
    func deleteDevice(_ id: DeviceID, of user: UserID, in app: AppID, effects: [OutboxEntry]) async throws -> Bool
}

/// What a step-up challenge turned out to be when it was presented.
public enum ChallengeOutcome: Sendable, Equatable {
    case valid
    /// Never issued, or issued for another user, item or action.
    case unknown
    case used
    case expired
}

extension ChallengeOutcome {
    /// The one rule for a presented challenge, whichever backend read its row: issued to another app,
    /// user, item or action is `unknown`; then spent, then expired.
    init(
        issuedTo: (app: String, user: String, item: String, action: String), usedAt: Int64?, expiresAt: Int64,
        presentedBy: (app: AppID, user: UserID, item: InboxItemID, action: String), now: Int64
    ) {
        if issuedTo.app != presentedBy.app.rawValue || issuedTo.user != presentedBy.user.rawValue || issuedTo.item != presentedBy.item.rawValue
            || issuedTo.action != presentedBy.action
        {
            self = .unknown
        } else if usedAt != nil {
            self = .used
        } else if expiresAt <= now {
            self = .expired
        } else {
            self = .valid
        }
    }
}

/// A side effect to perform later, written in the same transaction as what caused it.
public struct OutboxEntry: Sendable, Equatable {
    public var kind: OutboxKind
    public var user: UserID?
    public var subject: String?
    public var payload: String
    public var availableAt: Date

    public init(kind: OutboxKind, user: UserID?, subject: String?, payload: String, availableAt: Date) {
        self.kind = kind
        self.user = user
        self.subject = subject
        self.payload = payload
        self.availableAt = availableAt
    }
}

/// One claimed outbox row.
public struct OutboxJob: Sendable, Equatable {
    public var id: Int64
    public var app: AppID
    public var kind: OutboxKind
    public var user: UserID?
    public var subject: String?
    public var payload: String
    /// Attempts made before this one.
    public var attempts: Int
    public var createdAt: Date
}

/// Actions on inbox items. Their effects are written to the outbox in the same transaction.
public protocol ActionStore: Sendable {
    func createChallenge(_ challenge: String, item: InboxItemID, action: String, user: UserID, app: AppID, expiresAt: Date) async throws
    /// Marks the challenge used, whatever comes of it (a challenge works once, even for a bad signature),
    /// and says whether it was issued to this user for this item and action and is still fresh.
    func consumeChallenge(_ challenge: String, item: InboxItemID, action: String, user: UserID, app: AppID) async throws -> ChallengeOutcome
    /// Records the action the first time (marking the item read too) and writes `effects` in the same
    /// transaction; later calls change nothing and return the first record (`isFirst == false`).
    func recordAction(
        _ performed: InboxItem.PerformedAction, on item: InboxItemID, of user: UserID, in app: AppID, effects: [OutboxEntry]
    ) async throws -> (item: InboxItem, isFirst: Bool)
}

/// The durable outbox: side effects written with the change that causes them (webhooks, follow-ups,
/// pushes), claimed by the workers with a lease, retried until completed.
public protocol OutboxStore: Sendable {
    /// Claims due rows of the given kinds: they become due again `lease` later unless completed, so a
    /// process that stops mid-job leaves it to be retried (at least once).
    func claimOutbox(kinds: [OutboxKind], now: Date, lease: TimeInterval, limit: Int) async throws -> [OutboxJob]
    func completeOutbox(_ id: Int64) async throws
    /// Completes many rows in one transaction.
    func completeOutbox(_ ids: [Int64]) async throws
    /// Schedules another attempt at `at`, counting this one; a non-nil `payload` replaces the row's
    /// (a push job remembers the devices that already accepted it).
    func retryOutbox(_ id: Int64, at: Date, error: String, payload: String?) async throws
    /// Writes rows outside any other change (a webhook test event, say).
    func enqueue(_ entries: [OutboxEntry], app: AppID) async throws
    /// Rows waiting, per kind (due or not, leased or not), for `/metrics`.
    func outboxBacklog() async throws -> [OutboxKind: Int]
}

/// The app's webhook endpoint and the log of deliveries.
public protocol WebhookStore: Sendable {
    /// Sets the endpoint with a new signing secret (stored sealed).
    func putWebhook(url: String, events: [WebhookEvent], secret: String, in app: AppID) async throws -> Webhook
    /// The endpoint and its secret, or nil when none is set.
    func webhook(of app: AppID) async throws -> (webhook: Webhook, secret: String)?
    func deleteWebhook(of app: AppID) async throws -> Bool
    func recordDelivery(_ delivery: WebhookDelivery, app: AppID) async throws
    /// Newest first, at most `limit`, older than the delivery `before` when given.
    func deliveries(of app: AppID, limit: Int, before: Int64?) async throws -> [(id: Int64, delivery: WebhookDelivery)]
}

/// Whose credentials a stored push secret is; stored as its raw value.
public enum PushCredentialKind: String, Sendable, CaseIterable {
    case apns
    case fcm
    /// The app's own Web Push (VAPID) key, which Herald makes (`vapidKey(of:)`).
    case vapid
    /// The providers of the journeys' fallback outside the app: an SMS gateway (Twilio's Messages API)
    /// and an SMTP submission server.
    case sms
    case email
}

/// Where pushes come from (the apps' provider credentials, sealed) and what became of them.
public protocol PushStore: Sendable {
    /// Stores `secret` (the provider's credentials as the caller encodes them) sealed with the app's
    /// key, replacing earlier ones.
    func putPushCredentials(_ provider: PushCredentialKind, secret: Data, in app: AppID) async throws
    /// The unsealed secret, or nil when the app has none for `provider`.
    func pushCredentials(_ provider: PushCredentialKind, of app: AppID) async throws -> Data?
    func deletePushCredentials(_ provider: PushCredentialKind, of app: AppID) async throws -> Bool
    /// The app's VAPID private key (32 raw bytes of a P-256 key), created on first use.
    func vapidKey(of app: AppID) async throws -> Data
    func recordPushDeliveries(_ deliveries: [PushDelivery], app: AppID) async throws
    /// Newest first, of one user or of the whole app, older than the delivery `before` when given.
    func pushDeliveries(of user: UserID?, in app: AppID, limit: Int, before: Int64?) async throws -> [(id: Int64, delivery: PushDelivery)]
    /// Settles the push rows that message commits wrote: after live delivery, `offline` names the
    /// members who still need a push (the row becomes due now), and a row nobody needs is removed.
    /// A row never settled (the process stopped first) goes to every member but the sender.
    func settleMessagePushes(_ settlements: [(message: MessageID, offline: [UserID])]) async throws
}

/// Retention: old content removed in small batches.
public protocol RetentionStore: Sendable {
    /// In one short transaction, turns up to `limit` of the app's messages created before `cutoff`
    /// into tombstones (they keep their seq, so histories stay gap-free) and deletes up to `limit` of
    /// its inbox items created before `cutoff`. Returns how many of each; call again while either is `limit`.
    func expireContent(of app: AppID, createdBefore cutoff: Date, limit: Int) async throws -> (messages: Int, inboxItems: Int)
    /// In one short transaction, deletes up to `limit` of the app's customer events recorded before
    /// `cutoff`, shreds the context (the events they acted on) of up to `limit` of its journey runs that
    /// ended before it (a run keeps its row: journey, customer, status, times, which the entry rules and
    /// the report count), and deletes up to `limit` digests opened before it and finished (sent or
    /// failed; their entries went with the finish). Returns how many of each; call again while any is `limit`.
    func expireJourneyContent(of app: AppID, before cutoff: Date, limit: Int) async throws -> (events: Int, runs: Int, digests: Int)
}

/// The engagement scorecard.
public protocol StatsStore: Sendable {
    func engagement(of app: AppID, from: Date, to: Date) async throws -> EngagementReport
}

/// Per-app settings (`PUT /v1/settings`).
public protocol SettingsStore: Sendable {
    /// The app's settings, or the defaults when it never set any.
    func settings(of app: AppID) async throws -> AppSettings
    /// Replaces the settings with `update(current)` in one transaction, so concurrent changes are not lost.
    func updateSettings(of app: AppID, _ update: @Sendable (AppSettings) throws -> AppSettings) async throws -> AppSettings
}

extension InboxStore {
    /// Read and written each time (PostgreSQL: every node writes, so no node could keep a page true).
    public func inboxPage(
        of user: UserID, in app: AppID, query: InboxQuery, render: @Sendable (InboxPage) async throws -> [UInt8]
    ) async throws -> ByteBuffer {
        ByteBuffer(bytes: try await render(try await inbox(of: user, in: app, query: query)))
    }
}

extension OutboxStore {
    public func retryOutbox(_ id: Int64, at: Date, error: String) async throws {
        try await retryOutbox(id, at: at, error: error, payload: nil)
    }
}

/// What an outbox row asks for; stored as its raw value, which a row must decode to.
public enum OutboxKind: String, Sendable, CaseIterable {
    /// A push for an inbox item (`subject` the item id, `user` its recipient).
    case push
    /// A push for a chat message (`subject` the message id, payload its channel and, once settled, the
    /// offline recipients).
    case messagePush = "push.message"
    /// A webhook delivery (its payload is the event, which may carry content).
    case webhook
    /// A follow-up notification after an action.
    case followUp
    /// A customer event for the journeys to act on (`subject` the event id; no payload: the event,
    /// sealed, is in its own table).
    case journeyEvent = "journey.event"
    /// A journey's fallback outside the app (`subject` the inbox item's id, `user` its customer; payload
    /// the channel and the text, which holds the item's reference and nothing else).
    case fallback
    /// A category's fallback policy for an inbox item (`AppSettings.Fallback`; `subject` the item's id,
    /// `user` its customer, payload the channel), written with the item and due when it should have been
    /// read: the worker then reads the policy as it stands.
    case fallbackPolicy = "fallback.policy"
    /// A change of an inbox item for the journeys (`subject` the item's id, `user` its customer, payload
    /// `delivered`, `read`, `acted` or `expired`), written by the database itself in the transaction that
    /// changed the item, for an app with a journey that names an item event; the journey worker records
    /// it as the customer event `item.<payload>`.
    case itemEvent = "item.event"
    /// A journey digest whose window ends (`subject` the digest's id, `user` its customer, no payload):
    /// the journey worker closes it and sends its one message.
    case journeyDigest = "journey.digest"

    /// Whether the payload may carry content, and is therefore sealed at rest.
    public var isSealed: Bool { self == .webhook || self == .followUp || self == .fallback }

    /// How long a push row waits after its commit, so that live delivery (which makes the push
    /// unnecessary) settles it first.
    public static let pushGrace: TimeInterval = 2
}

extension DeviceStore {
    /// Registration with no side effect to write (tests, tools).
    public func registerDevice(_ device: NewDevice, for user: UserID, in app: AppID) async throws -> DeviceRegistration {
        try await registerDevice(device, for: user, in: app, effects: { _ in [] })
    }

    public func deleteDevice(_ id: DeviceID, of user: UserID, in app: AppID) async throws -> Bool {
        try await deleteDevice(id, of: user, in: app, effects: [])
    }

    public func activateStepUpKey(of device: DeviceID, of user: UserID, in app: AppID) async throws -> (device: Device, changed: Bool) {
        try await activateStepUpKey(of: device, of: user, in: app, effects: { _ in [] })
    }
}

extension MessageStore {
    public func editMessage(_ id: MessageID, in channel: ChannelID, app: AppID, content: MessageContent) async throws -> Message {
        try await editMessage(id, in: channel, app: app, content: content, signer: nil, byBusiness: false)
    }
}

/// Idempotency records (their keyed hashes) are kept for a while, then forgotten.
public protocol IdempotencyStore: Sendable {
    /// Removes idempotency records older than `cutoff`; returns how many.
    func purgeIdempotencyKeys(olderThan cutoff: Date) async throws -> Int
}

/// Whether the store answers at all (readiness).
public protocol AvailabilityStore: Sendable {
    /// Throws unless the store answers a trivial query now.
    func checkAvailable() async throws
}

/// Journeys, the events they follow, and where each customer stands in them (`JourneyRun`).
public protocol JourneyStore: Sendable {
    /// Stores the next version of `key` (1 for a new journey); `document` is its declaration as
    /// canonical JSON, already read by `JourneyDefinition`.
    func putJourney(_ key: JourneyKey, document: Data, in app: AppID) async throws -> Journey
    /// The given version, or the latest.
    func journey(_ key: JourneyKey, version: Int?, in app: AppID) async throws -> Journey?
    /// The latest version of each journey of the app, by key.
    func journeys(in app: AppID) async throws -> [Journey]

    /// Records an event and, in the same transaction, the outbox row that makes the journeys act on it.
    /// - Throws: `HeraldError.invalid` (`userId`, `unknown_user`) when the customer does not exist;
    ///   `.conflict` when the idempotency key was used for another request.
    func recordEvent(_ event: CustomerEvent, app: AppID, idempotency: IdempotencyKey?) async throws -> (event: CustomerEvent, isReplay: Bool)
    func customerEvent(_ id: EventID, in app: AppID) async throws -> CustomerEvent?

    /// Starts `run` unless the entry rule forbids it (the customer entered the journey too recently, or
    /// is in it now, under any version) or the same trigger event already started it; the check and the
    /// insert are one transaction. Returns whether it started.
    func startJourneyRun(_ run: JourneyRun, entry: JourneyDefinition.Entry) async throws -> Bool
    /// The customer's runs that have not ended.
    func journeyRuns(of user: UserID, in app: AppID) async throws -> [JourneyRun]
    func journeyRun(_ id: JourneyRunID, in app: AppID) async throws -> JourneyRun?
    /// Runs due by `now` and not leased, leased for `lease` seconds to the caller, oldest due first.
    func claimDueJourneyRuns(now: Date, lease: TimeInterval, limit: Int) async throws -> [JourneyRun]
    /// Writes `run` (its revision one more, its lease given back) if the stored run is still at
    /// `run.revision`, with `log` in the same transaction. Returns false (and writes nothing) when the
    /// run moved meanwhile or the step was already logged for it.
    func updateJourneyRun(_ run: JourneyRun, log: JourneyStepRecord?, effects: [OutboxEntry], digest: DigestEntry?) async throws -> Bool
    /// Closes the digest (later entries open a new one) and returns it with its first entries, oldest
    /// first, and their count; nil when it is gone (its customer erased). Closing a closed digest returns
    /// it again.
    func closeDigest(_ id: JourneyDigestID, in app: AppID) async throws -> ClosedDigest?
    /// Records what became of a closed digest (its message, or none when the template refused it) and
    /// deletes its entries.
    func finishDigest(_ id: JourneyDigestID, notification: NotificationID?, in app: AppID) async throws
    /// How far the customer's item of `notification` got (nil: no item yet, such as one held for quiet hours).
    func journeyItemState(of notification: NotificationID, user: UserID, in app: AppID) async throws -> JourneyItemState?
    func journeyReport(_ key: JourneyKey, in app: AppID) async throws -> JourneyReport
    /// The journey that sent `notification` (a send step, or a digest it opened), nil for one the business
    /// sent: stored with the notification (`OutgoingNotification.journey`).
    func journey(sent notification: NotificationID, in app: AppID) async throws -> JourneyKey?

    /// The delivery log of fallbacks outside the app: one line per attempt.
    func recordFallbackDelivery(_ delivery: FallbackDelivery, app: AppID) async throws
    /// Claims the item's fallback on `channel` for the outbox row `job`: true when this row holds the
    /// claim (taken now, or by this row on an earlier attempt), false when another row took it. An item
    /// gets one fallback per channel, whether a journey's step or its category's policy asked first, on
    /// any number of nodes: the claim is a row unique on the app, the item and the channel.
    func claimFallback(for item: InboxItemID, of user: UserID, channel: JourneyDefinition.FallbackChannel, job: Int64, in app: AppID) async throws -> Bool
    /// The app's log, newest first, before the line `before` when given.
    func fallbackDeliveries(of app: AppID, limit: Int, before: Int64?) async throws -> [(id: Int64, delivery: FallbackDelivery)]
    /// How many items of `category` the customer's inbox holds from `since` on (held ones included): what
    /// a frequency cap counts.
    func itemCount(of user: UserID, in app: AppID, category: NotificationCategory, since: Date) async throws -> Int
    /// When the customer read their items from `since` on, each time once (a "mark all read" is one
    /// read, not forty), the latest `limit`: what `ReadHour` learns from.
    func readTimes(of user: UserID, in app: AppID, since: Date, limit: Int) async throws -> [Date]
    /// Everything the journeys keep of one customer, for their export: events, runs, fallback attempts.
    func journeyActivity(of user: UserID, in app: AppID) async throws -> UserExport.JourneyActivity
}

/// An entry a digest step adds, in the transaction that moves its run on: to the customer's open digest
/// of the template, or to a new one whose window (and outbox row) starts now.
public struct DigestEntry: Sendable, Equatable {
    public var template: TemplateKey
    public var category: NotificationCategory
    public var windowSeconds: Int64
    public var step: String
    public var variables: [String: JSONValue]

    public init(template: TemplateKey, category: NotificationCategory, windowSeconds: Int64, step: String, variables: [String: JSONValue]) {
        self.template = template
        self.category = category
        self.windowSeconds = windowSeconds
        self.step = step
        self.variables = variables
    }
}

/// A digest whose window ended, with what it collected.
public struct ClosedDigest: Sendable, Equatable {
    public var id: JourneyDigestID
    public var user: UserID
    public var template: TemplateKey
    public var category: NotificationCategory
    /// The journey whose step opened it: its message is that journey's (`OutgoingNotification.journey`).
    public var journey: JourneyKey
    /// The first `JourneyDigest.maxItems` entries' variables, oldest first.
    public var entries: [[String: JSONValue]]
    /// How many entries it holds in all.
    public var count: Int
    /// Whether `finishDigest` ran for it (its message sent, or refused).
    public var isFinished: Bool

    public init(
        id: JourneyDigestID, user: UserID, template: TemplateKey, category: NotificationCategory, journey: JourneyKey, entries: [[String: JSONValue]],
        count: Int, isFinished: Bool
    ) {
        self.id = id
        self.user = user
        self.template = template
        self.category = category
        self.journey = journey
        self.entries = entries
        self.count = count
        self.isFinished = isFinished
    }
}

extension JourneyStore {
    public func updateJourneyRun(_ run: JourneyRun, log: JourneyStepRecord?, effects: [OutboxEntry]) async throws -> Bool {
        try await updateJourneyRun(run, log: log, effects: effects, digest: nil)
    }

    public func updateJourneyRun(_ run: JourneyRun, log: JourneyStepRecord?) async throws -> Bool {
        try await updateJourneyRun(run, log: log, effects: [])
    }
}


/// A customer's inbox item as a journey waiting on it sees it.
public struct JourneyItemState: Equatable, Sendable {
    public var item: InboxItemID
    public var state: JourneyDefinition.ItemState?
    public var action: String?
    public var changedAt: Date?

    public init(item: InboxItemID, state: JourneyDefinition.ItemState?, action: String?, changedAt: Date?) {
        self.item = item
        self.state = state
        self.action = action
        self.changedAt = changedAt
    }

    /// The item's state as the `event` of the journey's later steps: `item.delivered`, `item.read` or
    /// `item.acted` with `{"itemId", "state", "action"}` (the action's id when acted).
    public func contextValue(at time: Date) -> JSONValue {
        let name = "item." + (state?.rawValue ?? "created")
        var properties: [String: JSONValue] = ["itemId": .string(item.rawValue), "state": .string(state?.rawValue ?? "created")]
        if let action { properties["action"] = .string(action) }
        return .object(["name": .string(name), "occurredAt": .string(WireTime.format(changedAt ?? time)), "properties": .object(properties)])
    }

    /// Reads the item's three times: the furthest state reached, and when.
    static func of(item: InboxItemID, deliveredAt: Int64?, readAt: Int64?, actedAt: Int64?, action: String?) -> JourneyItemState {
        if let actedAt { return JourneyItemState(item: item, state: .acted, action: action, changedAt: WireTime.date(milliseconds: actedAt)) }
        if let readAt { return JourneyItemState(item: item, state: .read, action: nil, changedAt: WireTime.date(milliseconds: readAt)) }
        if let deliveredAt { return JourneyItemState(item: item, state: .delivered, action: nil, changedAt: WireTime.date(milliseconds: deliveredAt)) }
        return JourneyItemState(item: item, state: nil, action: nil, changedAt: nil)
    }
}

/// Everything Herald persists. Both backends (SQLite and PostgreSQL) implement all of it and pass the
/// same conformance suite; the server's parts each take only the roles they use.
public protocol Store: AppStore, UserStore, ChannelStore, MessageStore, SigningKeyStore, SettingsStore, TemplateStore, NotificationStore, InboxStore,
    DeviceStore, ActionStore, OutboxStore, WebhookStore, PushStore, RetentionStore, StatsStore, AuditStore, ErasureStore, IdempotencyStore,
    AvailabilityStore, JourneyStore
{
    /// Waits for pending writes and closes the store.
    func close() async throws
}

extension MessageStore {
    /// One after another, for stores without a group committer.
    public func appendAll(_ requests: [AppendRequest]) async -> [Result<AppendResult, any Error>] {
        var results: [Result<AppendResult, any Error>] = []
        for request in requests {
            do { results.append(.success(try await append(request))) } catch { results.append(.failure(error)) }
        }
        return results
    }
}
