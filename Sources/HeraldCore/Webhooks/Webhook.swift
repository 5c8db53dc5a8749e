public import Foundation

/// The app's webhook endpoint (`PUT /v1/webhooks`). The signing secret is shown once, when set.
public struct Webhook: Codable, Equatable, Sendable {
    public var url: String
    public var events: [WebhookEvent]
    public var createdAt: Date

    public init(url: String, events: [WebhookEvent], createdAt: Date) {
        self.url = url
        self.events = events
        self.createdAt = createdAt
    }

    /// Parses a `PUT` body. `https` is required unless `allowsPrivateTargets`; a host that is a private,
    /// loopback or link-local address is refused unless allowed (names are checked again at delivery).
    public static func read(body: Data, allowsPrivateTargets: Bool) throws(HeraldError) -> (url: String, events: [WebhookEvent]) {
        var reader = try ObjectReader(body: body)
        let url = reader.string("url", required: true, maxLength: 2_048)
        let events = reader.list("events", required: true, count: 1...WebhookEvent.allCases.count) { text in
            (WebhookEvent(rawValue: text), .invalidValue)
        }
        if let url {
            if let problem = Self.problem(with: url, allowsPrivateTargets: allowsPrivateTargets) { reader.report("url", problem.0, detail: problem.1) }
        }
        if let events, Set(events).count != events.count { reader.report("events", .duplicate) }
        try reader.finish()
        return (url!, events!)
    }

    static func problem(with text: String, allowsPrivateTargets: Bool) -> (FieldProblem.Reason, String)? {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), let host = components.host, !host.isEmpty,
            components.user == nil, components.password == nil
        else { return (.invalidValue, "an absolute URL without credentials") }
        guard scheme == "https" || (scheme == "http" && allowsPrivateTargets) else {
            return (.targetNotAllowed, "https only (plain http needs --allow-private-targets)")
        }
        if !allowsPrivateTargets, TargetPolicy.isPrivateLiteral(host) {
            return (.targetNotAllowed, "loopback, private and link-local addresses need --allow-private-targets")
        }
        return nil
    }
}

/// One delivery attempt of a webhook message (`GET /v1/webhooks/deliveries`).
public struct WebhookDelivery: Codable, Equatable, Sendable {
    public enum Outcome: String, Codable, Sendable {
        /// The endpoint answered 2xx.
        case delivered
        /// It failed and will be tried again.
        case retrying
        /// It failed for the last time.
        case failed
    }

    /// The `webhook-id`: the same for every attempt of one message.
    public var messageId: String
    public var event: String
    public var attempt: Int
    public var url: String
    public var statusCode: Int?
    public var error: String?
    public var durationMilliseconds: Int
    public var at: Date
    public var outcome: Outcome

    public init(
        messageId: String, event: String, attempt: Int, url: String, statusCode: Int?, error: String?, durationMilliseconds: Int, at: Date, outcome: Outcome
    ) {
        self.messageId = messageId
        self.event = event
        self.attempt = attempt
        self.url = url
        self.statusCode = statusCode
        self.error = error
        self.durationMilliseconds = durationMilliseconds
        self.at = at
        self.outcome = outcome
    }
}
