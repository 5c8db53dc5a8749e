import Foundation
import HeraldCore

/// The part of a send that needs no seq, done on the sender's task before the single writer sees it:
/// the message's id, its content sealed with the sender's data key, and the idempotency key's
/// fingerprint (issue 19: "everything that does not need the seq happens before the writer").
///
/// Sealing and the keyed hash were a tenth of the writer's time at saturation, serial there and
/// parallel here. A signed (business) message is not prepared: its signature covers the seq. The writer
/// still makes every check; it uses what was prepared only with the very key its own check finds
/// (`DataKey.isSameInstance`), and seals again otherwise (a sender erased and created again meanwhile).
struct PreparedAppend: Sendable {
    let id: MessageID
    /// The key `sealed` was sealed with.
    let key: DataKey
    let sealed: Data
    /// `IdempotencyKey.fingerprint(appKey:)`, when the send has a key.
    let fingerprint: Data?

    /// Nil when the writer must do it itself: a signed message, or a key that is not there (the
    /// writer's check then refuses the send with the right error).
    init?(_ request: AppendRequest, keys: KeyRing) {
        guard request.signer == nil, let key = try? keys.key(AppendRules.owner(of: request), in: request.app) else { return nil }
        let id = MessageID.generate()
        var fingerprint: Data?
        if let idempotency = request.idempotency {
            guard let appKey = try? keys.key(.app, in: request.app) else { return nil }
            fingerprint = idempotency.fingerprint(appKey: appKey)
        }
        let content = MessageRecord.Content(text: request.content.text, data: request.content.data, jws: nil, editedBy: nil)
        guard let sealed = try? key.seal(Data(content.json), context: SealingContext.message(channel: request.channel, id: id)) else { return nil }
        self.id = id
        self.key = key
        self.sealed = sealed
        self.fingerprint = fingerprint
    }
}
