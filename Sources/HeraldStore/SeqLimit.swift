import HeraldCore

/// A sequence that reached its end: a channel at `Limits.maxSeq` (2^53 messages, so in practice only
/// a row someone wrote outside Herald), an audit chain at `Int64.max`. The write is refused; the process
/// never traps on a stored number.
enum SeqLimit {
    static let reached = HeraldError.conflict(detail: "This sequence has reached its last number.")
}
