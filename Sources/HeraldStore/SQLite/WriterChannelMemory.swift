import GRDB
import HeraldCore

/// What SQLite's message writer remembers of the channels it writes to: each channel's row (its
/// `lastSeq` kept current by the writer itself), its members, and which members have a device.
///
/// Issue 19: "reads the writer needs (channel, members) come from memory it owns". Reading them for
/// every message was a quarter of the single writer's time. The memory is right only while nothing
/// else changed what it holds, so each batch starts with `validate`: if another write on the
/// connection touched a channel, a membership or a device (`ChannelChangeObserver`), or another
/// process wrote the file (`PRAGMA data_version` moved), everything is forgotten and read again.
/// Read marks (`channelMember.lastReadSeq`) are not held here, so they do not make it forget. A batch
/// that fails as a whole (rolled back) forgets everything too.
///
/// The changes a batch makes to channel rows and read positions are applied once per channel at the
/// end of the batch (`flush`), inside the same transaction: a channel that got forty messages in one
/// commit gets one `UPDATE`, not forty.
///
/// Used only on the commit loop's thread, inside its write transaction.
struct WriterChannelMemory {
    struct Channel {
        var record: ChannelRecord
        var members: [UserID]
        /// Members with a device, read the first time a message to the channel needs it.
        var withDevices: Set<UserID>?
    }

    /// How many channels are kept between batches; past it, the next batch starts with an empty memory
    /// (a busy server writes to fewer channels than this between two foreign writes). Never emptied
    /// within a batch: the batch's moved channels are written from it at `flush`.
    let capacity: Int
    /// How many member ids are kept between batches, all channels together: a tenant's few huge groups
    /// cannot make the memory large either.
    let memberCapacity: Int
    private var channels: [ChannelID: Channel] = [:]
    private var heldMembers = 0
    /// Told of changes to channels, memberships and devices by the connection's other writes.
    let observer: ChannelChangeObserver
    /// The file's data version after the last batch's flush: it moves when another process writes.
    private var dataVersion: Int64?
    /// Channels whose `lastSeq` moved in this batch.
    private var movedChannels: Set<ChannelID> = []
    /// Read positions to raise in this batch: the highest seq each sender sent.
    private var readPositions: [ReadPosition: Int64] = [:]

    private struct ReadPosition: Hashable {
        var channel: ChannelID
        var user: UserID
    }

    init(observer: ChannelChangeObserver, capacity: Int = 16_384, memberCapacity: Int = 1_000_000) {
        precondition(capacity > 0 && memberCapacity > 0)
        self.observer = observer
        self.capacity = capacity
        self.memberCapacity = memberCapacity
    }

    var count: Int { channels.count }
    /// How many times a channel was read from the database (a figure for tests and profiles: with a
    /// steady set of channels it stops growing).
    private(set) var channelReads = 0

    /// Forgets everything unless the database is as the last batch left it.
    mutating func validate(_ db: Database) throws {
        let changed = observer.takeChanges()
        if !changed, channels.count < capacity, heldMembers < memberCapacity, let dataVersion, dataVersion == (try Self.dataVersion(db)) { return }
        forget()
    }

    mutating func forget() {
        channels.removeAll(keepingCapacity: true)
        heldMembers = 0
        movedChannels.removeAll()
        readPositions.removeAll()
        dataVersion = nil
    }

    /// The channel `id` of `app` (nil when there is none, or it is another app's), read once.
    mutating func channel(_ id: ChannelID, in app: AppID, db: Database) throws -> Channel? {
        if let channel = channels[id] { return channel.record.appID == app ? channel : nil }
        channelReads += 1
        guard let record = try SQLiteStore.channelRecord(id, in: app, db: db) else { return nil }
        let channel = Channel(record: record, members: try SQLiteStore.memberIDs(of: id, db: db))
        channels[id] = channel
        heldMembers += channel.members.count
        return channel
    }

    /// The members of `channel` who have a device, read once (`channel` must have been read).
    mutating func membersWithDevices(of channel: ChannelID, in app: AppID, db: Database) throws -> Set<UserID> {
        if let known = channels[channel]?.withDevices { return known }
        let reachable = try Set(
            UserID.fetchAll(
                db.cachedStatement(
                    sql: "SELECT DISTINCT channelMember.userID FROM channelMember JOIN device ON device.appID = ? AND device.userID = channelMember.userID WHERE channelMember.channelID = ?"
                ), arguments: [app.rawValue, channel]))
        channels[channel]?.withDevices = reachable
        return reachable
    }

    /// Records a message appended at `seq`: the channel's row and the sender's read position follow at `flush`.
    mutating func appended(seq: Int64, to channel: ChannelID, at time: Int64, by sender: UserID?) {
        channels[channel]?.record.lastSeq = seq
        channels[channel]?.record.lastActivityAt = time
        movedChannels.insert(channel)
        if let sender {
            // Sending implies having read everything up to one's own message.
            readPositions[ReadPosition(channel: channel, user: sender), default: 0] = seq
        }
    }

    /// Writes the batch's channel and read-position changes, then notes the database as this batch left it.
    mutating func flush(_ db: Database) throws {
        let updateChannel = try db.cachedStatement(sql: "UPDATE channel SET lastSeq = ?, lastActivityAt = ? WHERE id = ?")
        try observer.ignoringChanges {
            for id in movedChannels {
                guard let record = channels[id]?.record else { continue }
                try updateChannel.execute(arguments: [record.lastSeq, record.lastActivityAt, id])
            }
        }
        let raiseRead = try db.cachedStatement(sql: "UPDATE channelMember SET lastReadSeq = ? WHERE channelID = ? AND userID = ? AND lastReadSeq < ?")
        for (position, seq) in readPositions {
            try raiseRead.execute(arguments: [seq, position.channel, position.user.rawValue, seq])
        }
        movedChannels.removeAll(keepingCapacity: true)
        readPositions.removeAll(keepingCapacity: true)
        dataVersion = try Self.dataVersion(db)
    }

    private static func dataVersion(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "PRAGMA data_version")) ?? 0
    }
}
