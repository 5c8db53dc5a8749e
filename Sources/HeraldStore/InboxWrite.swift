public import Foundation
public import HeraldCore

/// One transaction of a fan-out: inbox items, the shared content they reference, and where the fan-out
/// stands once they are committed.
///
/// An item is either sealed for its recipient alone (with its signature, made before the write) or a
/// reference to content stored once per notification and locale (signed later, on first delivery or
/// read: `InboxSignature`). Which one is the fan-out's decision (`NotificationService`); the store only
/// writes what it is given, in one transaction, so a crash leaves either all of it or none.
public struct InboxWrite: Sendable {
    public struct Entry: Sendable {
        public var item: InboxItem
        /// The locale of the shared content this item references (`""` for none); nil when the item is
        /// sealed for its recipient alone.
        public var sharedLocale: String?
        /// Whether the item gets a `push` outbox row: then one is written if its recipient has a device, or
        /// the item is held (quiet hours). False for a recipient connected when the page was built (they get
        /// `inbox.created` after the commit, and a push only if that finds no connection).
        public var push: Bool

        public init(item: InboxItem, sharedLocale: String?, push: Bool) {
            self.item = item
            self.sharedLocale = sharedLocale
            self.push = push
        }
    }

    /// What every recipient of a shared notification reads in one locale; written once (a repeat is ignored).
    public struct SharedContent: Sendable {
        public var notification: NotificationID
        public var locale: String
        public var title: String
        public var body: String
        public var data: [String: JSONValue]?
        public var actions: [NotificationAction]?

        public init(notification: NotificationID, locale: String, title: String, body: String, data: [String: JSONValue]?, actions: [NotificationAction]?) {
            self.notification = notification
            self.locale = locale
            self.title = title
            self.body = body
            self.data = data
            self.actions = actions
        }
    }

    /// Where a fan-out stands: stored with each write, so a fan-out that stopped resumes after `after`.
    public struct Progress: Sendable, Equatable {
        public var notification: NotificationID
        /// The last user of the audience (in id order) this write covers.
        public var after: UserID?
        /// Users of the audience covered so far, including those who got nothing (no marketing consent).
        public var seen: Int
        /// The fan-out's lease, extended with each write so a long fan-out is not claimed twice.
        public var leaseUntil: Date

        public init(notification: NotificationID, after: UserID?, seen: Int, leaseUntil: Date) {
            self.notification = notification
            self.after = after
            self.seen = seen
            self.leaseUntil = leaseUntil
        }
    }

    /// A fallback the category's policy asks for: on `channel`, due `after` seconds past each item's time.
    public struct Fallback: Sendable, Equatable {
        public var channel: String
        public var after: Int64

        public init(channel: String, after: Int64) {
            self.channel = channel
            self.after = after
        }
    }

    public var app: AppID
    public var entries: [Entry]
    public var contents: [SharedContent]
    public var progress: Progress?
    /// Written as `fallback.policy` outbox rows beside each item the write makes.
    public var fallbacks: [Fallback]

    public init(app: AppID, entries: [Entry], contents: [SharedContent] = [], progress: Progress? = nil, fallbacks: [Fallback] = []) {
        self.app = app
        self.entries = entries
        self.contents = contents
        self.progress = progress
        self.fallbacks = fallbacks
    }
}

/// A signature made for a shared item on its first delivery or read, kept so it is made once.
public struct InboxSignature: Sendable, Equatable {
    public var item: InboxItemID
    public var kid: String
    public var signature: Data

    public init(item: InboxItemID, kid: String, signature: Data) {
        self.item = item
        self.kid = kid
        self.signature = signature
    }
}

/// A page of a notification's audience, in user id order.
public struct AudiencePage: Sendable {
    public var recipients: [Recipient]
    /// The last user id this page covers: the next page starts after it. Nil for an empty page.
    public var last: UserID?
    /// Users of the audience this page covers (a listed user gone meanwhile counts, and gets nothing).
    public var seen: Int
    /// Whether the audience has no users after this page.
    public var isFinal: Bool

    public init(recipients: [Recipient], last: UserID?, seen: Int, isFinal: Bool) {
        self.recipients = recipients
        self.last = last
        self.seen = seen
        self.isFinal = isFinal
    }
}
