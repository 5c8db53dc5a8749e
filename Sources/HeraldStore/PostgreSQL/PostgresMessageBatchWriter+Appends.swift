import Foundation
import HeraldCore
import NIOCore
import PostgresNIO

/// Appends in bulk: a run of consecutive appends costs a fixed handful of statements whatever its
/// length (its channels and members read at once, idempotency keys claimed in one INSERT, messages,
/// seqs, read positions and push rows written with one statement each), so that a group commit's batch
/// costs about as much as a single send. Statement for statement per message, a batch of 100 took
/// 100 times as long, and the writer could not keep up with more than a few hundred sends a second.
extension PostgresMessageBatchWriter {
    /// One append that passed its checks and gets a message.
    private struct Accepted {
        var index: Int
        var request: AppendRequest
        var time: Date
        var id: MessageID
        var claim: String?
    }

    /// The key of an idempotency record: app, scope and key.
    private static func claimKey(_ app: AppID, _ key: IdempotencyKey) -> String { app.rawValue + "|" + key.scope + "|" + key.key.rawValue }

    /// Applies `requests` in order; one result each, as `apply` would give them one by one.
    mutating func appendAll(_ requests: [(request: AppendRequest, time: Date)]) async throws -> [Result<AppendResult, any Error>] {
        var results = [Result<AppendResult, any Error>?](repeating: nil, count: requests.count)
        let channels = try await channelsByID(Set(requests.map(\.request.channel)))
        let members = try await loadMembers(of: Array(channels.keys))

        // Keys stored before (by this node or another): replays, or conflicts when the body differs.
        let keyed = requests.compactMap { entry in entry.request.idempotency.map { (entry.request.app, $0) } }
        var stored = try await storedKeys(keyed)
        var accepted: [Accepted] = []
        var claimedHere: [String: Int] = [:]
        // Seqs the sends accepted so far will take, per channel (fewer if some turn out to be replays).
        var taken: [ChannelID: Int64] = [:]
        var replays: [(index: Int, claim: String)] = []
        for (index, (request, time)) in requests.enumerated() {
            do {
                try AppendRules.checkAccess(request, channel: channels[request.channel], members: channels[request.channel].flatMap { members[$0.id] } ?? [])
            } catch {
                results[index] = .failure(error)
                continue
            }
            if let key = request.idempotency {
                let claim = Self.claimKey(request.app, key)
                if let first = stored[claim] {
                    if key.requiresSameRequest, !(keys.key(.app, in: request.app).map { key.matches(first.fingerprint, appKey: $0) } ?? false) {
                        results[index] = .failure(IdempotencyKey.conflict)
                    } else {
                        replays.append((index, claim))
                    }
                    continue
                }
                if let earlier = claimedHere[claim] {
                    if key.requiresSameRequest, requests[earlier].request.idempotency?.requestDigest != key.requestDigest {
                        results[index] = .failure(IdempotencyKey.conflict)
                    } else {
                        replays.append((index, claim))
                    }
                    continue
                }
            }
            let channel = channels[request.channel]
            do {
                _ = try AppendRules.check(
                    request, channel: channel, members: channel.flatMap { members[$0.id] } ?? [],
                    senderKey: keys.key(AppendRules.owner(of: request), in: request.app),
                    appKey: request.idempotency.flatMap { _ in keys.key(.app, in: request.app) }, taken: taken[request.channel, default: 0])
            } catch {
                results[index] = .failure(error)
                continue
            }
            // Checked before the key is claimed: a send refused at the limit leaves no claim behind.
            taken[request.channel, default: 0] += 1
            let claim = request.idempotency.map { Self.claimKey(request.app, $0) }
            if let claim { claimedHere[claim] = index }
            accepted.append(Accepted(index: index, request: request, time: time, id: .generate(), claim: claim))
        }

        // Claim the new keys before anything else is written. A key another node claimed meanwhile
        // is not inserted (the INSERT waits for that node's commit): that send becomes a replay too.
        let lost = try await claim(accepted)
        if !lost.isEmpty {
            stored.merge(try await storedKeys(keyed.filter { lost.contains(Self.claimKey($0.0, $0.1)) }), uniquingKeysWith: { $1 })
            // The other node's send is the first one: a different body with the same key is a conflict, as
            // it is when the key was stored before this batch.
            for entry in accepted {
                guard let claim = entry.claim, lost.contains(claim), let key = entry.request.idempotency else { continue }
                if key.requiresSameRequest, let first = stored[claim],
                    !(keys.key(.app, in: entry.request.app).map { key.matches(first.fingerprint, appKey: $0) } ?? false)
                {
                    results[entry.index] = .failure(IdempotencyKey.conflict)
                } else {
                    replays.append((entry.index, claim))
                }
            }
            accepted.removeAll { $0.claim.map(lost.contains) == true }
        }

        // Seqs in request order, from the locked channel rows.
        var lastSeq = channels.mapValues { $0.lastSeq }
        var created: [(entry: Accepted, message: Message, record: MessageRecord)] = []
        for entry in accepted {
            // Every accepted send was checked to have a seq left (`AppendRules.check`).
            let seq = lastSeq[entry.request.channel, default: 0] + 1
            lastSeq[entry.request.channel] = seq
            let message = AppendRules.message(for: entry.request, id: entry.id, seq: seq, at: entry.time)
            let record = try MessageRecord(message, key: keys.key(AppendRules.owner(of: entry.request), in: entry.request.app))
            created.append((entry, message, record))
            results[entry.index] = .success(AppendResult(message: message, isReplay: false))
        }
        let pushed = try await write(created.map { ($0.entry.request, $0.record) })
        for (entry, message, _) in created {
            committed.append(
                CommittedMessage(
                    app: entry.request.app, change: .created, message: message, members: members[entry.request.channel] ?? [], hasPushRow: pushed.contains(message.id)))
        }

        // Replays: of a message stored before, or of one this batch just made.
        let madeHere = Dictionary(created.compactMap { item in item.entry.claim.map { ($0, item.message) } }, uniquingKeysWith: { first, _ in first })
        let storedIDs = replays.compactMap { madeHere[$0.claim] == nil ? stored[$0.claim]?.resultID : nil }
        let storedMessages = try await messages(withIDs: storedIDs.compactMap(MessageID.init(rawValue:)))
        for (index, claim) in replays {
            if let message = madeHere[claim] {
                results[index] = .success(AppendResult(message: message, isReplay: true))
            } else if let resultID = stored[claim]?.resultID, MessageID(rawValue: resultID) == nil {
                // A stored key naming no message id: that send fails, not the batch it shares with others.
                results[index] = .failure(StoreCorruption(table: "idempotencyKey", id: claim))
            } else if let id = stored[claim].flatMap({ MessageID(rawValue: $0.resultID) }), let message = storedMessages[id] {
                results[index] = .success(AppendResult(message: message, isReplay: true))
            } else {
                results[index] = .failure(AppendRules.keyInUse)
            }
        }
        return results.map { $0 ?? .failure(HeraldError.conflict(detail: "The message was not written.")) }
    }

    private func channelsByID(_ ids: Set<ChannelID>) async throws -> [ChannelID: ChannelRecord] {
        let rows = try await connection.rows("SELECT \(unescaped: ChannelRecord.postgresColumns) FROM channel WHERE id = ANY(\(Array(ids)))")
        return Dictionary(try rows.map { row in let record = try ChannelRecord(postgres: row); return (record.id, record) }, uniquingKeysWith: { first, _ in first })
    }

    private func loadMembers(of channels: [ChannelID]) async throws -> [ChannelID: [UserID]] {
        var found: [ChannelID: [UserID]] = [:]
        for row in try await connection.rows(
            "SELECT channelID, userID FROM channelMember WHERE channelID = ANY(\(channels)) ORDER BY channelID, joinedAt, userID COLLATE \"C\"")
        {
            let (channel, user) = try row.decode((ChannelID, UserID).self)
            found[channel, default: []].append(user)
        }
        for channel in channels { found[channel, default: []] = found[channel] ?? [] }
        return found
    }

    /// The members of each channel who have a device (one query for the batch).
    private func membersWithDevices(of channels: [ChannelID]) async throws -> [ChannelID: Set<UserID>] {
        var found: [ChannelID: Set<UserID>] = [:]
        for row in try await connection.rows(
            """
            SELECT DISTINCT m.channelID, m.userID FROM channelMember m JOIN device d ON d.appID = m.appID AND d.userID = m.userID
            WHERE m.channelID = ANY(\(channels))
            """)
        {
            let (channel, user) = try row.decode((ChannelID, UserID).self)
            found[channel, default: []].insert(user)
        }
        return found
    }

        private func storedKeys(_ keyed: [(AppID, IdempotencyKey)]) async throws -> [String: (fingerprint: Data, resultID: String)] {
        guard !keyed.isEmpty else { return [:] }
        let rows = try await connection.rows(
            """
            SELECT i.appID, i.scope, i.key, i.fingerprint, i.resultID FROM idempotencyKey i
            JOIN unnest(\(keyed.map(\.0.rawValue))::text[], \(keyed.map(\.1.scope))::text[], \(keyed.map(\.1.key.rawValue))::text[]) AS k(appID, scope, key)
                ON i.appID = k.appID AND i.scope = k.scope AND i.key = k.key
            """)
        var found: [String: (fingerprint: Data, resultID: String)] = [:]
        for row in rows {
            let (app, scope, key, fingerprint, resultID) = try row.decode((String, String, String, Data, String).self)
            found[app + "|" + scope + "|" + key] = (fingerprint, resultID)
        }
        return found
    }

    /// Inserts the accepted sends' keys; returns the claims another node had taken.
    private func claim(_ accepted: [Accepted]) async throws -> Set<String> {
        let claims = accepted.filter { $0.claim != nil }
        guard !claims.isEmpty else { return [] }
        // Every app of a keyed send has its key here (checked when the send was accepted).
        let fingerprints = claims.map { ByteBuffer(bytes: $0.request.idempotency!.fingerprint(appKey: keys.key(.app, in: $0.request.app)!)) }
        let inserted = try await connection.rows(
            """
            INSERT INTO idempotencyKey (appID, scope, key, fingerprint, resultID, createdAt, userID)
            SELECT appID, scope, key, fingerprint, resultID, createdAt, NULLIF(userID, '')
            FROM unnest(\(claims.map(\.request.app.rawValue))::text[], \(claims.map { $0.request.idempotency!.scope })::text[],
                \(claims.map { $0.request.idempotency!.key.rawValue })::text[], \(fingerprints)::bytea[],
                \(claims.map(\.id.rawValue))::text[], \(claims.map { WireTime.milliseconds($0.time) })::bigint[],
                \(claims.map { $0.request.idempotency!.user?.rawValue ?? "" })::text[]) AS k(appID, scope, key, fingerprint, resultID, createdAt, userID)
            ON CONFLICT DO NOTHING RETURNING appID, scope, key
            """)
        var won: Set<String> = []
        for row in inserted {
            let (app, scope, key) = try row.decode((String, String, String).self)
            won.insert(app + "|" + scope + "|" + key)
        }
        return Set(claims.compactMap(\.claim)).subtracting(won)
    }

    /// The messages, their channels' seqs and activity, the senders' read positions and the push rows.
    /// - Returns: the messages that got a push row.
    private func write(_ created: [(request: AppendRequest, record: MessageRecord)]) async throws -> Set<MessageID> {
        guard !created.isEmpty else { return [] }
        let records = created.map(\.record)
        try await connection.execute(
            """
            INSERT INTO message (id, channelID, seq, sender, sealed, createdAt)
            SELECT id, channelID, seq, NULLIF(sender, ''), sealed, createdAt
            FROM unnest(\(records.map(\.id))::text[], \(records.map(\.channelID))::text[], \(records.map(\.seq))::bigint[],
                \(records.map { $0.sender?.rawValue ?? "" })::text[], \(records.map { ByteBuffer(bytes: $0.sealed ?? Data()) })::bytea[],
                \(records.map(\.createdAt))::bigint[]) AS m(id, channelID, seq, sender, sealed, createdAt)
            """)
        // One row per channel: its last seq and activity after this batch.
        var last: [ChannelID: (seq: Int64, at: Int64)] = [:]
        for record in records { last[record.channelID] = (record.seq, max(last[record.channelID]?.at ?? 0, record.createdAt)) }
        let channelIDs = Array(last.keys)
        try await connection.execute(
            """
            UPDATE channel SET lastSeq = v.seq, lastActivityAt = v.at
            FROM unnest(\(channelIDs)::text[], \(channelIDs.map { last[$0]!.seq })::bigint[], \(channelIDs.map { last[$0]!.at })::bigint[]) AS v(id, seq, at)
            WHERE channel.id = v.id
            """)
        // Sending implies having read everything up to one's own message: one row per channel and sender.
        var read: [ChannelID: [UserID: Int64]] = [:]
        for record in records {
            guard let sender = record.sender else { continue }
            read[record.channelID, default: [:]][sender] = record.seq
        }
        if !read.isEmpty {
            let positions = read.flatMap { channel, seqs in seqs.map { (channel: channel, user: $0.key, seq: $0.value) } }
            try await connection.execute(
                """
                UPDATE channelMember SET lastReadSeq = v.seq
                FROM unnest(\(positions.map(\.channel))::text[], \(positions.map(\.user))::text[], \(positions.map(\.seq))::bigint[]) AS v(channelID, userID, seq)
                WHERE channelMember.channelID = v.channelID AND channelMember.userID = v.userID AND channelMember.lastReadSeq < v.seq
                """)
        }
        // Pushes for members who are offline, settled once live delivery has happened (see `settleMessagePushes`).
        let reachable = try await membersWithDevices(of: Array(Set(records.map(\.channelID))))
        let pushed = created.compactMap { entry in
            AppendRules.pushPayload(for: entry.request, withDevices: reachable[entry.record.channelID] ?? []).map { (entry.request, entry.record, payload: $0) }
        }
        guard !pushed.isEmpty else { return [] }
        let payloads = pushed.map(\.payload)
        let grace = Int64(OutboxKind.pushGrace * 1000)
        try await connection.execute(
            """
            INSERT INTO outbox (appID, kind, subjectID, payload, availableAt, createdAt)
            SELECT appID, \(OutboxKind.messagePush), subjectID, payload, createdAt + \(grace), createdAt
            FROM unnest(\(pushed.map(\.0.app))::text[], \(pushed.map(\.1.id))::text[], \(payloads)::text[],
                \(pushed.map(\.1.createdAt))::bigint[]) AS o(appID, subjectID, payload, createdAt)
            """)
        return Set(pushed.map(\.1.id))
    }

    /// Stored messages by id, opened (their sender is the replaying request's, whose key the batch has).
    private func messages(withIDs ids: [MessageID]) async throws -> [MessageID: Message] {
        guard !ids.isEmpty else { return [:] }
        var found: [MessageID: Message] = [:]
        for row in try await connection.rows(
            """
            SELECT m.id, m.channelID, m.seq, m.sender, m.sealed, m.createdAt, m.editedAt, m.deletedAt, c.appID
            FROM message m JOIN channel c ON c.id = m.channelID WHERE m.id = ANY(\(ids))
            """)
        {
            let columns = try row.decode((MessageID, ChannelID, Int64, UserID?, Data?, Int64, Int64?, Int64?, AppID).self)
            let record = MessageRecord(
                id: columns.0, channelID: columns.1, seq: columns.2, sender: columns.3, sealed: columns.4, createdAt: columns.5, editedAt: columns.6,
                deletedAt: columns.7)
            found[record.id] = try record.message(key: record.deletedAt == nil ? keys.key(record.owner, in: columns.8) : nil)
        }
        return found
    }
}
