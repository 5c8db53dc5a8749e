/// The documented input limits. They are part of the contract (`docs/openapi.yaml`,
/// `docs/protocol.md`): raising them is a compatible change, lowering them is not.
public enum Limits {
    /// Largest HTTP request body.
    public static let requestBodyBytes = 64 * 1024
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
}
