/// What erasing a user removes, once for both backends, in this order: their data key first (the point
/// of no return: nothing of theirs opens any more, here or in any copy), then their messages' content
/// (the message rows stay as tombstones so that seqs keep no gap), the pushes of their inbox items, the
/// rows of every table below, and the user row last. Running it again after a crash finishes the job.
enum UserErasure {
    /// Tables whose rows of the user (`appID`, `userID`) are deleted.
    static let tables = [
        "inboxItem", "outbox", "idempotencyKey", "userTokenEpoch", "device", "actionChallenge", "channelMember", "consentChange", "pushDelivery", "userTag",
    ]
}
