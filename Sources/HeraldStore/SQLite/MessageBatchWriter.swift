import Foundation
import GRDB
import HeraldCore

/// Applies the writes of one batch inside one transaction and collects what was committed.
///
/// Every check of a write happens before its first change, so a write refused with a `HeraldError`
/// leaves nothing behind and the rest of the batch commits; any other error rolls back the whole batch.
struct MessageBatchWriter {
    let db: Database
    let keys: KeyRing
    private(set) var committed: [CommittedMessage] = []
    private var membersByChannel: [ChannelID: [UserID]] = [:]
    private var reachableByChannel: [ChannelID: Set<UserID>] = [:]

    init(db: Database, keys: KeyRing) {
        self.db = db
        self.keys = keys
    }

    mutating func apply(_ write: MessageWrite) throws -> Result<AppendResult, any Error> {
        do {
            switch write {
            case .append(let request, let time): return .success(try append(request, at: time))
            case .edit(let id, let channel, let app, let content, let signer, let byBusiness, let time):
                return .success(
                    AppendResult(
                        message: try change(id, channel: channel, app: app, to: content, signer: signer, byBusiness: byBusiness, deleting: false, at: time),
                        isReplay: false))
            case .delete(let id, let channel, let app, let time):
                return .success(
                    AppendResult(message: try change(id, channel: channel, app: app, to: nil, signer: nil, byBusiness: false, deleting: true, at: time), isReplay: false))
            }
        } catch let error as HeraldError {
            return .failure(error)
        }
    }

    private mutating func append(_ request: AppendRequest, at time: Date) throws -> AppendResult {
        let channel = try SQLiteStore.channelRecord(request.channel, in: request.app, db: db)
        let members: [UserID] = try channel.map { try self.members(of: $0.id) } ?? []
        try AppendRules.checkAccess(request, channel: channel, members: members)
        if let key = request.idempotency, let replay = try replay(key, app: request.app) {
            return replay
        }
        let key = try AppendRules.check(
            request, channel: channel, members: members, senderKey: try keys.key(AppendRules.owner(of: request), in: request.app),
            appKey: try request.idempotency.map { _ in try keys.key(.app, in: request.app) } ?? nil)
        guard let channel else { throw HeraldError.notFound(resource: "channel") }
        let seq = channel.lastSeq + 1
        try db.cachedStatement(sql: "UPDATE channel SET lastSeq = ?, lastActivityAt = ? WHERE id = ?").execute(arguments: [seq, WireTime.milliseconds(time), channel.id])
        let message = AppendRules.message(for: request, id: .generate(), seq: seq, at: time)
        try MessageRecord(message, key: key).insert(with: db)
        if let sender = request.sender {
            // Sending implies having read everything up to one's own message.
            try db.cachedStatement(sql: "UPDATE channelMember SET lastReadSeq = ? WHERE channelID = ? AND userID = ? AND lastReadSeq < ?")
                .execute(arguments: [seq, channel.id, sender.rawValue, seq])
        }
        if let key = request.idempotency {
            try IdempotencyRecord(key, app: request.app, appKey: try appKey(request.app), resultID: message.id.rawValue, createdAt: WireTime.milliseconds(time)).insert(with: db)
        }
        let pushPayload = AppendRules.pushPayload(for: request, withDevices: try membersWithDevices(of: channel.id, in: request.app))
        if let payload = pushPayload {
            // Pushes for members who are offline, settled once live delivery has happened (see `settleMessagePushes`).
            let milliseconds = WireTime.milliseconds(time)
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
        let lookup = try db.cachedStatement(sql: "SELECT * FROM idempotencyKey WHERE appID = ? AND scope = ? AND key = ?")
        guard let record = try IdempotencyRecord.fetchOne(lookup, arguments: [app.rawValue, key.scope, key.key.rawValue]) else {
            return nil
        }
        if key.requiresSameRequest, !key.matches(record.fingerprint, appKey: try appKey(app)) {
            throw IdempotencyKey.conflict
        }
        guard let message = try MessageRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM message WHERE id = ?"), arguments: [record.resultID]) else {
            throw AppendRules.keyInUse
        }
        return AppendResult(message: try message.message(app: app, keys: keys), isReplay: true)
    }

    private mutating func change(
        _ id: MessageID, channel: ChannelID, app: AppID, to content: MessageContent?, signer: MessageSigner?, byBusiness: Bool, deleting: Bool, at time: Date
    ) throws -> Message {
        guard let channelRecord = try SQLiteStore.channelRecord(channel, in: app, db: db),
            var record = try MessageRecord.filter(MessageRecord.Columns.id == id.rawValue && MessageRecord.Columns.channelID == channelRecord.id)
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
            CommittedMessage(app: app, change: deleting ? .deleted : .updated, message: message, members: try members(of: channelRecord.id), hasPushRow: false))
        return message
    }

    private func appKey(_ app: AppID) throws -> DataKey {
        guard let key = try keys.key(.app, in: app) else { throw HeraldError.notFound(resource: "app") }
        return key
    }

    /// The members of `channel` who have a device, once per channel and batch.
    private mutating func membersWithDevices(of channel: ChannelID, in app: AppID) throws -> Set<UserID> {
        if let cached = reachableByChannel[channel] { return cached }
        let reachable = try Set(
            UserID.fetchAll(
                db.cachedStatement(
                    sql: "SELECT DISTINCT channelMember.userID FROM channelMember JOIN device ON device.appID = ? AND device.userID = channelMember.userID WHERE channelMember.channelID = ?"
                ), arguments: [app.rawValue, channel]))
        reachableByChannel[channel] = reachable
        return reachable
    }

    private mutating func members(of channel: ChannelID) throws -> [UserID] {
        if let cached = membersByChannel[channel] { return cached }
        let members = try SQLiteStore.memberIDs(of: channel, db: db)
        membersByChannel[channel] = members
        return members
    }
}
