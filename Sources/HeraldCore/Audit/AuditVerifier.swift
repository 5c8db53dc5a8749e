public import Foundation

/// Checks audit chains entry by entry, in id order, and names the first entry that is wrong.
///
/// Each chain must run seq 1, 2, 3 ... with each `prevHash` equal to the previous entry's hash and
/// each hash equal to the one recomputed from the entry. What it cannot see: entries cut from the end
/// of a chain (nothing follows them); the chain heads it reports let an operator keep an anchor outside.
public struct AuditVerifier {
    /// One stored row, as read back.
    public struct Row: Sendable {
        public var id: Int64
        public var chain: String
        public var seq: Int64
        public var at: Date
        public var actor: String
        public var action: String
        public var target: String
        public var prevHash: Data
        public var hash: Data

        public init(id: Int64, chain: String, seq: Int64, at: Date, actor: String, action: String, target: String, prevHash: Data, hash: Data) {
            self.id = id
            self.chain = chain
            self.seq = seq
            self.at = at
            self.actor = actor
            self.action = action
            self.target = target
            self.prevHash = prevHash
            self.hash = hash
        }
    }

    public struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        public var id: Int64
        public var chain: String
        public var seq: Int64
        public var reason: String
        public var description: String { "entry \(id) (chain \(chain), seq \(seq)): \(reason)" }
    }

    private var heads: [String: (seq: Int64, hash: Data)] = [:]
    public private(set) var checked = 0
    private let key: DataKey

    public init(key: DataKey) { self.key = key }

    /// The last hash of every chain seen so far, hex.
    public var chainHeads: [String: String] { heads.mapValues { $0.hash.hexString } }

    public mutating func check(_ row: Row) throws(Problem) {
        let head = heads[row.chain] ?? (0, AuditEvent.genesis)
        func problem(_ reason: String) -> Problem { Problem(id: row.id, chain: row.chain, seq: row.seq, reason: reason) }
        // Wrapping arithmetic: the seqs are read from a database someone may have written to (Int64.max).
        if row.seq > head.seq &+ 1 || head.seq == .max { throw problem("entries \(head.seq &+ 1)…\(row.seq &- 1) of this chain are missing (removed or moved)") }
        if row.seq <= head.seq { throw problem("out of order: seq \(row.seq) after seq \(head.seq)") }
        if row.prevHash != head.hash { throw problem("its prevHash is not the hash of the entry before it (an entry was removed, moved or rewritten)") }
        let canonical = AuditEvent.canonicalBytes(
            chain: row.chain, id: row.id, seq: row.seq, at: row.at, actor: row.actor, action: row.action, target: row.target)
        if AuditEvent.hash(previous: row.prevHash, canonical: canonical, key: key) != row.hash {
            throw problem("its content does not match its hash (the entry was changed)")
        }
        heads[row.chain] = (row.seq, row.hash)
        checked += 1
    }
}
