import Crypto
public import Foundation

/// Which hash chain an event belongs to: each app has its own (what `GET /v1/audit` serves), and the
/// operator's actions that concern no app (key rotation, backups) have theirs.
public enum AuditChain: Hashable, Sendable {
    case app(AppID)
    case `operator`

    public var column: String {
        switch self {
        case .app(let app): app.rawValue
        case .operator: "operator"
        }
    }
}

/// An event to record: who did what to what.
public struct NewAuditEvent: Sendable, Equatable {
    public var chain: AuditChain
    /// `platform:<api key id>`, `operator:cli`, `anonymous` ... never a secret.
    public var actor: String
    /// `PUT /v1/users/{userId}`, `credential.rejected`, `keys.rotate` ...
    public var action: String
    /// What it acted on: the request path, a user id, a file ...
    public var target: String

    public init(chain: AuditChain, actor: String, action: String, target: String) {
        self.chain = chain
        self.actor = actor
        self.action = action
        self.target = target
    }
}

/// A recorded audit event, as `GET /v1/audit` shows it.
///
/// `hash` is HMAC-SHA256, under the audit key (kept in the key store, wrapped by the master key), of
/// `prevHash` followed by the event's canonical bytes (`canonicalBytes`). So changing, removing or
/// reordering an entry breaks the chain from that entry on, and someone who can write the database
/// but does not hold the master key cannot rebuild it.
public struct AuditEvent: Codable, Equatable, Sendable {
    public var id: Int64
    /// Position in its chain, from 1.
    public var seq: Int64
    public var at: Date
    public var actor: String
    public var action: String
    public var target: String
    /// Hex.
    public var hash: String
    /// Hex; 64 zeros for the first event of a chain.
    public var prevHash: String

    public init(id: Int64, seq: Int64, at: Date, actor: String, action: String, target: String, hash: String, prevHash: String) {
        self.id = id
        self.seq = seq
        self.at = at
        self.actor = actor
        self.action = action
        self.target = target
        self.hash = hash
        self.prevHash = prevHash
    }

    public static let genesis = Data(repeating: 0, count: 32)

    /// Canonical JSON (sorted keys, no whitespace) of every field the hash covers.
    public static func canonicalBytes(chain: String, id: Int64, seq: Int64, at: Date, actor: String, action: String, target: String) -> Data {
        JSONValue.object([
            "chain": .string(chain), "id": .number(Double(id)), "seq": .number(Double(seq)), "at": .number(Double(WireTime.milliseconds(at))),
            "actor": .string(actor), "action": .string(action), "target": .string(target),
        ]).canonicalData()
    }

    public static func hash(previous: Data, canonical: Data, key: DataKey) -> Data {
        var input = previous
        input.append(canonical)
        return key.authenticationCode(for: input)
    }
}

extension DataKey {
    /// HMAC-SHA256 under this key.
    public func authenticationCode(for data: Data) -> Data {
        withSymmetricKey { Data(HMAC<SHA256>.authenticationCode(for: data, using: $0)) }
    }
}

extension Data {
    public var hexString: String { map { String(format: "%02x", $0) }.joined() }
}
