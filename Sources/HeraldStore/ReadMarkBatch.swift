import HeraldCore

extension ReadMark {
    /// A batch of marks as both backends apply it: one mark per member of a channel, the furthest (a
    /// position only moves forward, so the others change nothing), in channel then user order (the order
    /// of the results on both backends).
    ///
    /// Two marks for the same member in one PostgreSQL `UPDATE … FROM unnest(…)` would apply one of
    /// them, unpredictably; SQLite applied them in turn. Coalescing first gives both the same answer.
    static func coalesced(_ marks: [ReadMark]) -> [ReadMark] {
        struct Member: Hashable {
            var app: AppID
            var channel: ChannelID
            var user: UserID
        }
        var furthest: [Member: Int64] = [:]
        for mark in marks {
            let member = Member(app: mark.app, channel: mark.channel, user: mark.user)
            furthest[member] = max(furthest[member] ?? mark.seq, mark.seq)
        }
        return furthest.map { ReadMark(app: $0.key.app, channel: $0.key.channel, user: $0.key.user, seq: $0.value) }
            .sorted { ($0.channel, $0.user, $0.app) < ($1.channel, $1.user, $1.app) }
    }
}
