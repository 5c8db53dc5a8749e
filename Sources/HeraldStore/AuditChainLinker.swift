import Foundation
import HeraldCore

/// The audit trail's one rule for appending, shared by both backends: each entry takes the next seq of
/// its chain and is hashed (HMAC under the audit key) over the previous entry's hash and its own
/// canonical bytes. A backend supplies what is dialect: the stored head of a chain the batch has not
/// touched yet, the entry's id, and the insert.
struct AuditChainLinker {
    /// One row to insert.
    struct Entry {
        var id: Int64
        var chain: String
        var seq: Int64
        var atMilliseconds: Int64
        var actor: String
        var action: String
        var target: String
        var prevHash: Data
        var hash: Data
    }

    private let key: DataKey
    private var heads: [String: (seq: Int64, hash: Data)] = [:]

    init(key: DataKey) {
        self.key = key
    }

    /// Whether the backend must look up the stored head of `chain` (`start`) before linking to it.
    func needsHead(of chain: String) -> Bool { heads[chain] == nil }

    /// The chain's last stored entry (its seq and hash), or nil for a chain without entries.
    mutating func start(_ chain: String, storedHead: (seq: Int64, hash: Data)?) {
        heads[chain] = storedHead ?? (0, AuditEvent.genesis)
    }

    /// The entry for `write` with the id the backend gave it, linked to its chain's head, which it
    /// becomes.
    /// - Throws: `SeqLimit.reached` when the chain's seq is at its end (a stored value written outside
    ///   Herald): the write fails rather than the process.
    mutating func link(_ write: AuditWrite, id: Int64) throws -> Entry {
        let chain = write.event.chain.column
        let head = heads[chain] ?? (0, AuditEvent.genesis)
        guard head.seq < Int64.max else { throw SeqLimit.reached }
        let seq = head.seq + 1
        let canonical = AuditEvent.canonicalBytes(
            chain: chain, id: id, seq: seq, at: write.at, actor: write.event.actor, action: write.event.action, target: write.event.target)
        let hash = AuditEvent.hash(previous: head.hash, canonical: canonical, key: key)
        heads[chain] = (seq, hash)
        return Entry(
            id: id, chain: chain, seq: seq, atMilliseconds: WireTime.milliseconds(write.at), actor: write.event.actor, action: write.event.action,
            target: write.event.target, prevHash: head.hash, hash: hash)
    }
}
