import Foundation
import HeraldCore
import HeraldStore

/// Signs the inbox items of shared notifications when they are first delivered or read, and keeps the
/// signature so each is made once.
///
/// A broadcast to 100,000 customers would otherwise make 100,000 Ed25519 signatures before its last item
/// is written (about 3 s of CPU); signed lazily, the fan-out's cost no longer grows with signatures, and
/// only items someone opens are signed. The payload is the same one an eager signature covers
/// (`InboxItem.signedPayload`: the app, the item, its recipient and what they see), so an item signed for
/// Ana still never verifies in Ben's inbox, and clients verify it as before. The store never hands out a
/// reference whose row is not bound to its recipient (`InboxItemRecord.binding`), so a row written
/// outside Herald is never signed. An item sealed for one recipient is signed when written and passes
/// through untouched.
struct InboxItemSigner: Sendable {
    let signer: BusinessSigner
    let store: any InboxStore

    /// The items, each with its `jws`; signatures made now are kept (`InboxStore.recordInboxSignatures`).
    func signed(_ items: [InboxItem], app: AppID) async throws -> [InboxItem] {
        let (signed, signatures) = try await signing(items, app: app)
        try await store.recordInboxSignatures(signatures, app: app)
        return signed
    }

    func signed(_ item: InboxItem, app: AppID) async throws -> InboxItem {
        try await signed([item], app: app)[0]
    }

    /// The items, each with its `jws`, and the signatures made now, for the caller to keep in a write it
    /// makes anyway (marking them delivered).
    func signing(_ items: [InboxItem], app: AppID) async throws -> (items: [InboxItem], signatures: [InboxSignature]) {
        guard items.contains(where: { $0.jws.isEmpty }) else { return (items, []) }
        let key = try await signer.currentKey(of: app)
        var signatures: [InboxSignature] = []
        let signed = items.map { item in
            guard item.jws.isEmpty else { return item }
            var item = item
            let payload = item.signedPayload(app: app)
            let signature = key.signature(for: payload)
            item.jws = SigningKey.jws(kid: key.kid, payload: payload, signature: signature)
            signatures.append(InboxSignature(item: item.id, kid: key.kid, signature: signature))
            return item
        }
        return (signed, signatures)
    }
}
