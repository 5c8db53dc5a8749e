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

    /// One announcement, as JSON: `k` is `m` (message changes) or `s` (a signal).
    struct Announcement: Codable {
        struct Change: Codable {
            /// App, channel, message, and the change (`c`reated, `u`pdated, `d`eleted).
            var a: String
            var c: String
            var i: String
            var x: String
        }

        var n: String
        var k: String
        var m: [Change]?
        /// A batch of message changes: its id and this announcement's offset in it.
        var b: String?
        var o: Int?
        var a: String?
        var u: [String]?
        var p: String?
    }

    /// The announcements of a committed batch, sent inside its transaction (PostgreSQL delivers them at
    /// commit, and never for a batch that rolls back).
    static func announce(_ committed: [CommittedMessage], node: String, batch: String, on connection: PostgresConnection) async throws {
        guard !committed.isEmpty else { return }
        let changes = committed.map { change in
            let kind: String =
                switch change.change {
                case .created: "c"
                case .updated: "u"
                case .deleted: "d"
                }
            return Announcement.Change(a: change.app.rawValue, c: change.message.channelId.rawValue, i: change.message.id.rawValue, x: kind)
        }
        // Each change is at most ~150 bytes of ids; 40 of them stay well under the limit.
        for start in stride(from: 0, to: changes.count, by: 40) {
            let payload = try JSONEncoder().encode(
                Announcement(n: node, k: "m", m: Array(changes[start..<min(start + 40, changes.count)]), b: batch, o: start))
            try await connection.execute("SELECT pg_notify(\(clusterChannel), \(String(decoding: payload, as: UTF8.self)))")
        }
    }

    /// Publishes `payload` to `users` of `app` on every other node (split into several announcements when
    /// the users are many). `payload` must carry no content: it passes through the database's queue.
    public func announce(_ payload: String, app: AppID, to users: [UserID]) async throws {
        var chunk: [String] = []
        var size = payload.utf8.count + app.rawValue.utf8.count + 64
        var announcements: [String] = []
        func flush() throws {
            let json = try JSONEncoder().encode(Announcement(n: nodeID, k: "s", a: app.rawValue, u: chunk, p: payload))
            announcements.append(String(decoding: json, as: UTF8.self))
            chunk = []
            size = payload.utf8.count + app.rawValue.utf8.count + 64
        }
        for user in users {
            if size + user.rawValue.utf8.count + 3 > Self.announcementLimit, !chunk.isEmpty { try flush() }
            chunk.append(user.rawValue)
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
                    guard let announcement = try? JSONDecoder().decode(Announcement.self, from: Data(notification.payload.utf8)),
                        announcement.k == "m" || announcement.n != nodeID
                    else { continue }
                    if let event = try await event(for: announcement) { await handle(event) }
                }
            }
        }
    }

    private func event(for announcement: Announcement) async throws -> ClusterEvent? {
        switch announcement.k {
        case "m":
            let changes = announcement.m ?? []
            // This node's own batch is in memory (`LocalCommits`); anything else is read by id.
            if announcement.n == nodeID, let batch = announcement.b,
                let local = localCommits.take(batch: batch, offset: announcement.o ?? 0, count: changes.count)
            {
                return .messages(local, fromThisNode: true)
            }
            // One query for the announcement's messages and one for their channels' members.
            let rows = try await database.rows(
                "SELECT \(unescaped: MessageRecord.postgresColumns) FROM message WHERE id = ANY(\(changes.map(\.i)))")
            var records: [String: MessageRecord] = [:]
            for row in rows {
                let record = try MessageRecord(postgres: row)
                records[record.id] = record
            }
            var members: [String: [UserID]] = [:]
            for row in try await database.rows(
                """
                SELECT channelID, array_agg(userID ORDER BY joinedAt, userID) FROM channelMember
                WHERE channelID = ANY(\(Array(Set(changes.map(\.c))))) GROUP BY channelID
                """)
            {
                let (channel, users) = try row.decode((String, [String]).self)
                members[channel] = try StoredValue.decodeAll(users, as: UserID.self, column: "channelMember.userID")
            }
            var committed: [CommittedMessage] = []
            for change in changes {
                guard let app = AppID(rawValue: change.a), let record = records[change.i], record.channelID == change.c else { continue }
                let kind: CommittedMessage.Change = change.x == "c" ? .created : change.x == "u" ? .updated : .deleted
                committed.append(CommittedMessage(app: app, change: kind, message: try await opened(record, app: app), members: members[change.c] ?? []))
            }
            return committed.isEmpty ? nil : .messages(committed, fromThisNode: announcement.n == nodeID)
        case "s":
            guard let app = announcement.a.flatMap(AppID.init(rawValue:)), let payload = announcement.p else { return nil }
            return .signal(app: app, users: (announcement.u ?? []).compactMap(UserID.init(rawValue:)), payload: payload)
        default:
            return nil
        }
    }
}
