/// What erasing a user removes, once for both backends, in this order: their data key first (the point
/// of no return: nothing of theirs opens any more, here or in any copy), then their messages' content
/// (the message rows stay as tombstones so that seqs keep no gap), the pushes of their inbox items, the
/// rows of every table below, and the user row last. Running it again after a crash finishes the job.
enum UserErasure {
    /// Tables whose rows of the user (`appID`, `userID`) are deleted.
    static let tables = [
        "inboxItem", "outbox", "idempotencyKey", "userTokenEpoch", "device", "actionChallenge", "channelMember", "consentChange", "pushDelivery", "userTag",
        "customerEvent", "journeyRun", "fallbackDelivery", "fallbackClaim", "journeyDigestEntry", "journeyDigest",
    ]

    /// The step log of the user's journey runs (keyed by run, not user), deleted before the runs: the
    /// same SQL in both dialects, `app` and `user` the placeholders.
    static func journeySteps(app: String, user: String) -> String {
        "DELETE FROM journeyStep WHERE runID IN (SELECT id FROM journeyRun WHERE appID = \(app) AND userID = \(user))"
    }

    /// Deletes the shared content of the app's finished notifications that no inbox item references any
    /// more: erasure and retention run it after removing items, so a broadcast's content lives as long as
    /// one of its items (a notification still sending keeps it for the pages to come). The same SQL in
    /// both dialects; `app` is the placeholder of the app's id (`?` or `$1`).
    static func orphanedSharedContent(app: String) -> String {
        """
        DELETE FROM notificationContent WHERE appID = \(app)
        AND NOT EXISTS (SELECT 1 FROM inboxItem WHERE inboxItem.notificationID = notificationContent.notificationID)
        AND EXISTS (SELECT 1 FROM notification WHERE notification.id = notificationContent.notificationID AND notification.status IN ('sent', 'failed'))
        """
    }
}
