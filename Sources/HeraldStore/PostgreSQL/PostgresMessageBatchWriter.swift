import Foundation
import HeraldCore
import PostgresNIO

/// Applies the writes of one batch inside one PostgreSQL transaction and collects what was committed:
/// the counterpart of the embedded `MessageBatchWriter`, with the same rules.
///
/// Every check of a write happens before its first change, so a write refused with a `HeraldError`
/// leaves nothing behind and the rest of the batch commits; any other error rolls back the whole batch.
/// Several nodes may write to one channel at once: the batch first locks the rows of its channels, in
/// id order (so two batches cannot deadlock on them), and each seq is taken from the locked row.
struct PostgresMessageBatchWriter {
    /// The data keys of a batch's senders, looked up before its transaction; an erased sender has none.
    struct SenderKeys: Sendable {
        var keys: [AppID: [KeyOwner: DataKey]] = [:]

        func key(_ owner: KeyOwner, in app: AppID) -> DataKey? { keys[app]?[owner] }
    }

    let connection: PostgresConnection
    let keys: SenderKeys
    /// What the batch committed, in order (its appends are written by `appendAll`).
    var committed: [CommittedMessage] = []
    private var membersByChannel: [ChannelID: [UserID]] = [:]

    init(connection: PostgresConnection, keys: SenderKeys) {
        self.connection = connection
        self.keys = keys
    }

    /// The keys the batch needs: each sender's (the app's for a business message, and for any keyed send), and for edits and
    /// deletes the key of the message's sender, read before the transaction (a sender never changes).
    static func keys(for batch: [MessageWrite], keys: PostgresKeyRing, database: PostgresDatabase) async throws -> SenderKeys {
        var wanted: [AppID: Set<KeyOwner>] = [:]
        for write in batch {
            switch write {
            case .append(let request, _, _):
                wanted[request.app, default: []].insert(request.sender.map(KeyOwner.user) ?? .app)
                // The app's key turns an idempotency key's digest into what is stored.
                if request.idempotency != nil { wanted[request.app, default: []].insert(.app) }
            case .edit(let id, let channel, let app, _, _, _, _), .delete(let id, let channel, let app, _):
                let sender = try await database.rows("SELECT sender FROM message WHERE id = \(id) AND channelID = \(channel)")
                    .first?.decode(String?.self) ?? nil
                wanted[app, default: []].insert(sender.flatMap(UserID.init(rawValue:)).map(KeyOwner.user) ?? .app)
            }
        }
        var found = SenderKeys()
        for (app, owners) in wanted {
            for owner in owners {
                if let key = try await keys.key(owner, in: app) { found.keys[app, default: [:]][owner] = key }
            }
        }
        return found
    }

    /// Applies the batch in order: each run of consecutive appends in bulk (`appendAll`), edits and
    /// deletes one at a time (they see the appends before them, which are written by then).
    mutating func applyAll(_ batch: [MessageWrite]) async throws -> [Result<AppendResult, any Error>] {
        var results: [Result<AppendResult, any Error>] = []
        var index = 0
        while index < batch.count {
            var appends: [(request: AppendRequest, time: Date)] = []
            while index < batch.count, case .append(let request, let time, _) = batch[index] {
                appends.append((request, time))
                index += 1
            }
            if !appends.isEmpty {
                results += try await appendAll(appends)
                continue
            }
            results.append(try await apply(batch[index]))
            index += 1
        }
        return results
    }

    /// Locks the rows of every channel the batch writes to, in id order.
    /// Locks the batch's channels, each only in the app that names it: a channel id of another tenant
    /// (sent over a user's socket, which the writer refuses later) locks nothing.
    func lockChannels(of batch: [MessageWrite]) async throws {
        let pairs = Set(batch.map { write -> String in
            switch write {
            case .append(let request, _, _): request.channel.rawValue + " " + request.app.rawValue
            case .edit(_, let channel, let app, _, _, _, _), .delete(_, let channel, let app, _): channel.rawValue + " " + app.rawValue
            }
        }).sorted().map { $0.split(separator: " ").map(String.init) }
        try await connection.execute(
            """
            SELECT id FROM channel WHERE (id, appID) IN (SELECT * FROM unnest(\(pairs.map { $0[0] })::text[], \(pairs.map { $0[1] })::text[]))
            ORDER BY id FOR UPDATE
            """)
    }

    /// One write; appends go through `appendAll`.
    private mutating func apply(_ write: MessageWrite) async throws -> Result<AppendResult, any Error> {
        do {
            switch write {
            case .append(let request, let time, _): return try await appendAll([(request, time)])[0]
            case .edit(let id, let channel, let app, let content, let signer, let byBusiness, let time):
                let message = try await change(id, channel: channel, app: app, to: content, signer: signer, byBusiness: byBusiness, deleting: false, at: time)
                return .success(AppendResult(message: message, isReplay: false))
            case .delete(let id, let channel, let app, let time):
                let message = try await change(id, channel: channel, app: app, to: nil, signer: nil, byBusiness: false, deleting: true, at: time)
                return .success(AppendResult(message: message, isReplay: false))
            }
        } catch let error as HeraldError {
            return .failure(error)
        }
    }

    private mutating func change(
        _ id: MessageID, channel: ChannelID, app: AppID, to content: MessageContent?, signer: MessageSigner?, byBusiness: Bool, deleting: Bool, at time: Date
    ) async throws -> Message {
        guard let channelRecord = try await PostgresStore.channelRecord(channel, in: app, on: connection),
            let row = try await connection.rows(
                "SELECT \(unescaped: MessageRecord.postgresColumns) FROM message WHERE id = \(id) AND channelID = \(channelRecord.id)"
            ).first
        else {
            throw HeraldError.notFound(resource: "message")
        }
        var record = try MessageRecord(postgres: row)
        let (message, changed) = try record.change(to: content, signer: signer, byBusiness: byBusiness, deleting: deleting, at: time, key: keys.key(record.owner, in: app))
        // Deleting a tombstone again is not an error, and not a change either.
        guard changed else { return message }
        try await connection.execute(
            "UPDATE message SET sealed = \(record.sealed), editedAt = \(record.editedAt), deletedAt = \(record.deletedAt) WHERE id = \(record.id)")
        committed.append(
            CommittedMessage(app: app, change: deleting ? .deleted : .updated, message: message, members: try await members(of: channelRecord.id), hasPushRow: false))
        return message
    }

    private mutating func members(of channel: ChannelID) async throws -> [UserID] {
        if let cached = membersByChannel[channel] { return cached }
        let members = try await PostgresStore.memberIDs(of: channel, on: connection)
        membersByChannel[channel] = members
        return members
    }
}
