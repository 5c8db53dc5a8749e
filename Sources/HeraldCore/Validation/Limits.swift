/// The documented input limits. They are part of the contract (`docs/openapi.yaml`,
/// `docs/protocol.md`): raising them is a compatible change, lowering them is not.
public enum Limits {
    /// Largest HTTP request body.
    public static let requestBodyBytes = 64 * 1024
    /// Time a request body has to arrive, once its headers did (408 after).
    public static let requestBodySeconds: Double = 10
    /// Longest message text, in characters (grapheme clusters).
    public static let messageTextCharacters = 10_000
    /// Largest `data` object of a message, as compact JSON.
    public static let messageDataBytes = 16 * 1024
    /// Largest `metadata` object of a user, as compact JSON.
    public static let userMetadataBytes = 16 * 1024
    /// Longest user or channel display name.
    public static let nameCharacters = 200
    /// Members in one `POST /v1/channels` or one add-members call.
    public static let membersPerRequest = 1_000
    /// Largest seq a channel reaches, and the range of every seq a request names (`after`, `before`,
    /// `afterSeq`, `seq`): 2^53, which every JSON number and JavaScript client represents exactly.
    public static let maxSeq: Int64 = 9_007_199_254_740_992
    /// Most messages in one history page.
    public static let pageSize = 200
    /// Default history page size.
    public static let defaultPageSize = 50
    /// Default lifetime of a user token.
    public static let defaultTokenTTLSeconds: Int64 = 3_600
    /// Longest lifetime of a user token (30 days).
    public static let maxTokenTTLSeconds: Int64 = 30 * 24 * 3_600
    /// How long idempotency keys and client message ids are remembered, at least.
    public static let idempotencyRetentionSeconds: Double = 24 * 3_600
    /// Actions on one inbox item.
    public static let actionsPerItem = 5
    /// Longest action label or choice option.
    public static let actionLabelCharacters = 40
    /// Most options of a choice input.
    public static let choiceOptions = 10
    /// Longest free-text answer to an action.
    public static let actionTextCharacters = 1_000
    /// Longest notification title, after rendering.
    public static let titleCharacters = 200
    /// Longest notification body, after rendering.
    public static let bodyCharacters = 4_000
    /// Largest template source (title, body and every localization together).
    public static let templateBytes = 32 * 1024
    /// Largest journey declaration (`PUT /v1/journeys/{key}`), as sent.
    public static let journeyBytes = 64 * 1024
    /// Largest `variables` object of a send, as compact JSON.
    public static let variablesBytes = 16 * 1024
    /// Most elements of an array in `variables` (a section renders once per element).
    public static let variableArrayElements = 100
    /// Deepest nesting of sections (`{{#a}}{{#b}}…`) in a template text.
    public static let sectionNesting = 3
    /// Most characters one render may produce, counted as section iterations times the template's size:
    /// a render that would exceed it stops at once and is refused (422 `too_large`).
    public static let renderBudgetCharacters = 1_000_000
    /// Explicit recipients of one notification.
    public static let recipientsPerNotification = 10_000
    /// Largest body of `POST /v1/notifications` (10,000 recipients need more than the usual 64 KiB).
    public static let notificationBodyBytes = 1024 * 1024
    /// Lifetime of a step-up challenge.
    public static let challengeSeconds: Double = 300
    /// Devices one user may register.
    public static let devicesPerUser = 20
}
