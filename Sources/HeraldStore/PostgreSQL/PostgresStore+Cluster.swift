import Foundation
public import HeraldCore
import PostgresNIO

/// The event feed between the nodes of a cluster: PostgreSQL's LISTEN/NOTIFY on one channel, `herald`.
///
/// Announcements carry ids only, never content: a notification passes through the server's
/// notification queue (which spills to `pg_notify/` on disk), and content is only ever stored sealed.
/// A node that hears of messages fetches and opens them by id.
///
/// Every node hears every commit, its own included, and delivers from this feed alone: PostgreSQL
/// hands notifications to every listener in commit order, so each channel's messages reach every
/// connection in seq order whichever nodes wrote them. (A node that delivered its own commits at once
/// and others' when it heard of them could show seq 10 before seq 9.) Signals, which need no order,
/// are not handed back to the node that sent them.
///
/// NOTIFY's payload is limited to 8,000 bytes, so long announcements are split into several.
extension PostgresStore {
    static let clusterChannel = "herald"
    /// Below PostgreSQL's 8,000-byte limit, with room for the envelope.
    static let announcementLimit = 7_000

    /// The announcements of a committed batch, sent inside its transaction (PostgreSQL delivers them at
    /// commit, and never for a batch that rolls back).
    static func announce(_ committed: [CommittedMessage], node: String, batch: String, on connection: PostgresConnection) async throws {
        let changes = committed.map { ClusterAnnouncement.Change(app: $0.app, channel: $0.message.channelId, message: $0.message.id, kind: $0.change) }
        for start in stride(from: 0, to: changes.count, by: ClusterAnnouncement.changesPerAnnouncement) {
            let part = Array(changes[start..<min(start + ClusterAnnouncement.changesPerAnnouncement, changes.count)])
            let payload = try JSONEncoder().encode(ClusterAnnouncement.messages(node: node, batch: batch, offset: start, changes: part))
            try await connection.execute("SELECT pg_notify(\(clusterChannel), \(String(decoding: payload, as: UTF8.self)))")
        }
    }

    /// Publishes `signal` to `users` of `app` on every other node (split into several announcements when
    /// the users are many). A signal carries ids only: it passes through the database's queue.
    public func announce(_ signal: ClusterSignal, app: AppID, to users: [UserID]) async throws {
        let encoder = JSONEncoder()
        let base = try encoder.encode(ClusterAnnouncement.signal(node: nodeID, app: app, users: [], signal: signal)).count
        var announcements: [String] = []
        var chunk: [UserID] = []
        var size = base
        func flush() throws {
            announcements.append(String(decoding: try encoder.encode(ClusterAnnouncement.signal(node: nodeID, app: app, users: chunk, signal: signal)), as: UTF8.self))
            (chunk, size) = ([], base)
        }
        for user in users {
            // Each user adds its id, two quotes and a comma.
            if size + user.rawValue.utf8.count + 3 > Self.announcementLimit, !chunk.isEmpty { try flush() }
            chunk.append(user)
            size += user.rawValue.utf8.count + 3
        }
        if !chunk.isEmpty { try flush() }
        guard !announcements.isEmpty else { return }
        try await database.transaction { [announcements] connection in
            for announcement in announcements { try await connection.execute("SELECT pg_notify(\(Self.clusterChannel), \(announcement))") }
        }
    }

    /// Listens to the other nodes until the task is cancelled or the connection is lost (then it throws;
    /// the caller decides how to recover, since whatever was announced meanwhile is not heard).
    /// - Parameters:
    ///   - listening: called once LISTEN is in effect: from then on no announcement is missed.
    ///   - handle: called for each event, one at a time, in the order the nodes committed them.
    public func listen(listening: @Sendable () async -> Void, _ handle: @Sendable (ClusterEvent) async -> Void) async throws {
        defer { localCommits.listening(false) }
        try await database.client.withConnection { connection in
            try await connection.listen(on: Self.clusterChannel) { notifications in
                localCommits.listening(true)
                await listening()
                for try await notification in notifications {
                    let announcement: ClusterAnnouncement
                    do {
                        announcement = try JSONDecoder().decode(ClusterAnnouncement.self, from: Data(notification.payload.utf8))
                    } catch {
                        await handle(.unreadable(reason: "\(error)"))
                        continue
                    }
                    if let event = try await event(for: announcement) { await handle(event) }
                }
            }
        }
    }

    private func event(for announcement: ClusterAnnouncement) async throws -> ClusterEvent? {
        switch announcement {
        case .signal(let node, let app, let users, let signal):
            return node == nodeID ? nil : .signal(app: app, users: users, signal: signal)
        case .messages(let node, let batch, let offset, let changes):
            // This node's own batch is in memory (`LocalCommits`); anything else is read by id.
            if node == nodeID, let local = localCommits.take(batch: batch, offset: offset, count: changes.count) {
                return .messages(local, fromThisNode: true)
            }
            // One query for the announcement's messages and one for their channels' members.
            let rows = try await database.rows(
                "SELECT \(unescaped: MessageRecord.postgresColumns) FROM message WHERE id = ANY(\(changes.map(\.message)))")
            var records: [MessageID: MessageRecord] = [:]
            for row in rows {
                let record = try MessageRecord(postgres: row)
                records[record.id] = record
            }
            var members: [ChannelID: [UserID]] = [:]
            for row in try await database.rows(
                """
                SELECT channelID, array_agg(userID ORDER BY joinedAt, userID COLLATE "C") FROM channelMember
                WHERE channelID = ANY(\(Array(Set(changes.map(\.channel))))) GROUP BY channelID
                """)
            {
                let (channel, users) = try row.decode((ChannelID, [UserID]).self)
                members[channel] = users
            }
            var committed: [CommittedMessage] = []
            // A message gone since (erased with its sender) or moved (a channel id that does not match)
            // has nothing left to deliver.
            for change in changes {
                guard let record = records[change.message], record.channelID == change.channel else { continue }
                // This node's own commit read back (its memory of the batch was lost): whether it wrote a
                // push row is not known here, so it is settled as if it had (settling no row changes nothing).
                committed.append(
                    CommittedMessage(
                        app: change.app, change: change.kind, message: try await opened(record, app: change.app), members: members[change.channel] ?? [],
                        hasPushRow: node == nodeID))
            }
            return committed.isEmpty ? nil : .messages(committed, fromThisNode: node == nodeID)
        }
    }
}
