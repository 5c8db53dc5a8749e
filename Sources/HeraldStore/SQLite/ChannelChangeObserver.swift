import GRDB
import Synchronization

/// Watches the writer connection for changes to what `WriterChannelMemory` holds: channel rows,
/// memberships (not read positions) and devices (who can be woken by push).
///
/// A GRDB transaction observer: SQLite's authorizer tells GRDB which tables and columns a statement
/// changes (foreign-key cascades included), so statements on other tables cost nothing here. A change
/// is noted even if its transaction rolls back: forgetting too much only costs a read.
final class ChannelChangeObserver: TransactionObserver, Sendable {
    private let changed = Atomic(false)
    /// Set while the message writer applies its own batch's changes, which its memory already holds.
    private let ignoring = Atomic(false)

    init() {}

    /// Whether anything changed since the last call.
    func takeChanges() -> Bool { changed.exchange(false, ordering: .acquiringAndReleasing) }

    func ignoringChanges<T>(_ body: () throws -> T) rethrows -> T {
        ignoring.store(true, ordering: .releasing)
        defer { ignoring.store(false, ordering: .releasing) }
        return try body()
    }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        switch eventKind {
        case .insert(let table), .delete(let table):
            return Self.watched.contains(table.lowercased())
        case .update(let table, let columns):
            switch table.lowercased() {
            case "channel": return true
            case "channelmember": return columns.contains { $0.lowercased() != "lastreadseq" }
            case "device": return columns.contains { ["userid", "appid"].contains($0.lowercased()) }
            default: return false
            }
        }
    }

    private static let watched: Set<String> = ["channel", "channelmember", "device"]

    func databaseDidChange() { noteChange() }
    func databaseDidChange(with event: DatabaseEvent) { noteChange() }
    func databaseDidCommit(_ db: Database) {}
    func databaseDidRollback(_ db: Database) {}

    private func noteChange() {
        guard !ignoring.load(ordering: .acquiring) else { return }
        changed.store(true, ordering: .releasing)
    }
}
