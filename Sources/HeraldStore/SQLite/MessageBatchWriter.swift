import Foundation
import GRDB
import HeraldCore

/// Applies the writes of one batch inside one transaction and collects what was committed.
///
/// A write refused with a `HeraldError` leaves nothing behind and the rest of the batch commits: every
/// check happens before its first change, but for the idempotency key's claim, which is given back
/// (`IdempotencyRecord.release`). Any other error rolls back the whole batch.
struct MessageBatchWriter {
    let db: Database
    let keys: KeyRing
    private(set) var committed: [CommittedMessage] = []

    init(db: Database, keys: KeyRing) {
        self.db = db
        self.keys = keys
    }

    /// Applies one write; the channels, members and the batch's pending channel changes are `memory`'s.
    mutating func apply(_ write: MessageWrite, memory: inout WriterChannelMemory) throws -> Result<AppendResult, any Error> {
        do {
            switch write {
            case .append(let request, let time, let prepared): return .success(try append(request, at: time, prepared: prepared, memory: &memory))
            case .edit(let id, let channel, let app, let content, let signer, let byBusiness, let time):
                return .success(
                    AppendResult(
                        message: try change(
                            id, channel: channel, app: app, to: content, signer: signer, byBusiness: byBusiness, deleting: false, at: time, memory: &memory),
                        isReplay: false))
            case .delete(let id, let channel, let app, let time):
                return .success(
                    AppendResult(
                        message: try change(id, channel: channel, app: app, to: nil, signer: nil, byBusiness: false, deleting: true, at: time, memory: &memory),
                        isReplay: false))
            }
        } catch let error as HeraldError {
            return .failure(error)
        }
    }

    private mutating func append(_ request: AppendRequest, at time: Date, prepared: PreparedAppend?, memory: inout WriterChannelMemory) throws -> AppendResult {
        let stored = try memory.channel(request.channel, in: request.app, db: db)
        let members = stored?.members ?? []
        try AppendRules.checkAccess(request, channel: stored?.record, members: members)
        let senderKey = try keys.key(AppendRules.owner(of: request), in: request.app)
        // What was prepared counts only if it was sealed with the key the check below finds.
        let prepared = prepared.flatMap { prepared in senderKey.map { prepared.key.isSameInstance(as: $0) } == true ? prepared : nil }
        let id = prepared?.id ?? MessageID.generate()
        let milliseconds = WireTime.milliseconds(time)
        // The key is claimed where it used to be looked up (a replay still answers before any other
        // check), and given back if a check then refuses the write, which leaves nothing behind.
        var claim: IdempotencyRecord?
        if let key = request.idempotency {
            let fingerprint = try prepared?.fingerprint ?? key.fingerprint(appKey: try appKey(request.app))
            let record = IdempotencyRecord(key, fingerprint: fingerprint, app: request.app, resultID: id.rawValue, createdAt: milliseconds)
            guard try record.claim(with: db) else {
                guard let replay = try replay(key, app: request.app) else { throw AppendRules.keyInUse }
                return replay
            }
            claim = record
        }
        let (key, channel): (DataKey, WriterChannelMemory.Channel)
        do {
            key = try AppendRules.check(
                request, channel: stored?.record, members: members, senderKey: senderKey,
                appKey: try request.idempotency.map { _ in try keys.key(.app, in: request.app) } ?? nil)
            guard let stored else { throw HeraldError.notFound(resource: "channel") }
            channel = stored
        } catch {
            try claim?.release(with: db)
            throw error
        }
        let seq = channel.record.lastSeq + 1
        let message = AppendRules.message(for: request, id: id, seq: seq, at: time)
        if let prepared {
            try MessageRecord(message, sealed: prepared.sealed).insert(with: db)
        } else {
            try MessageRecord(message, key: key).insert(with: db)
        }
        memory.appended(seq: seq, to: channel.record.id, at: milliseconds, by: request.sender)
        let pushPayload = AppendRules.pushPayload(for: request, withDevices: try memory.membersWithDevices(of: channel.record.id, in: request.app, db: db))
        if let payload = pushPayload {
            // Pushes for members who are offline, settled once live delivery has happened (see `settleMessagePushes`).
            try db.cachedStatement(sql: "INSERT INTO outbox (appID, kind, subjectID, payload, availableAt, createdAt) VALUES (?, '\(OutboxKind.messagePush.rawValue)', ?, ?, ?, ?)")
                .execute(arguments: [
                    request.app.rawValue, message.id.rawValue, payload,
                    milliseconds + Int64(OutboxKind.pushGrace * 1000), milliseconds,
                ])
        }
        committed.append(CommittedMessage(app: request.app, change: .created, message: message, members: members, hasPushRow: pushPayload != nil))
        return AppendResult(message: message, isReplay: false)
    }

    private func replay(_ key: IdempotencyKey, app: AppID) throws -> AppendResult? {
        let lookup = try db.cachedStatement(sql: "SELECT fingerprint, resultID FROM idempotencyKey WHERE appID = ? AND scope = ? AND key = ?")
        guard let row = try Row.fetchOne(lookup, arguments: [app.rawValue, key.scope, key.key.rawValue]) else {
            return nil
        }
        let (fingerprint, resultID): (Data, String) = (try row.decode(atIndex: 0), try row.decode(atIndex: 1))
        if key.requiresSameRequest, !key.matches(fingerprint, appKey: try appKey(app)) {
            throw IdempotencyKey.conflict
        }
        guard let message = try MessageRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM message WHERE id = ?"), arguments: [resultID]) else {
            throw AppendRules.keyInUse
        }
        return AppendResult(message: try message.message(app: app, keys: keys), isReplay: true)
    }

    private mutating func change(
        _ id: MessageID, channel: ChannelID, app: AppID, to content: MessageContent?, signer: MessageSigner?, byBusiness: Bool, deleting: Bool, at time: Date,
        memory: inout WriterChannelMemory
    ) throws -> Message {
        guard let channel = try memory.channel(channel, in: app, db: db),
            var record = try MessageRecord.filter(MessageRecord.Columns.id == id.rawValue && MessageRecord.Columns.channelID == channel.record.id)
                .fetchOne(db)
        else {
            throw HeraldError.notFound(resource: "message")
        }
        let (message, changed) = try record.change(
            to: content, signer: signer, byBusiness: byBusiness, deleting: deleting, at: time, key: record.deletedAt == nil ? keys.key(record.owner, in: app) : nil)
        // Deleting a tombstone again is not an error, and not a change either.
        guard changed else { return message }
        try record.update(db)
        committed.append(
            CommittedMessage(app: app, change: deleting ? .deleted : .updated, message: message, members: channel.members, hasPushRow: false))
        return message
    }

    private func appKey(_ app: AppID) throws -> DataKey {
        guard let key = try keys.key(.app, in: app) else { throw HeraldError.notFound(resource: "app") }
        return key
    }
}
