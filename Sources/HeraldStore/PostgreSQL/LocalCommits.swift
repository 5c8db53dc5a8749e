import Foundation
import HeraldCore
import Synchronization

/// This node's committed batches, kept from just before their COMMIT until the node hears their own
/// announcements on the cluster feed, so that it delivers them in feed order without reading back what
/// it has in memory. Only kept while the node listens.
///
/// An entry whose announcement never comes (its COMMIT failed after it was registered) is dropped after
/// a minute; the delivery of a batch that is not (or no longer) here falls back to reading by id.
final class LocalCommits: Sendable {
    private struct Entry {
        var changes: [CommittedMessage]
        var registeredAt: ContinuousClock.Instant
    }

    private struct State {
        var isListening = false
        var batches: [String: Entry] = [:]
    }

    private let state = Mutex(State())

    func listening(_ isListening: Bool) {
        state.withLock { state in
            state.isListening = isListening
            if !isListening { state.batches = [:] }
        }
    }

    /// Keeps `changes` under `batch` when the node listens; returns whether it did.
    @discardableResult
    func register(_ changes: [CommittedMessage], batch: String) -> Bool {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard state.isListening else { return false }
            state.batches = state.batches.filter { now - $0.value.registeredAt < .seconds(60) }
            state.batches[batch] = Entry(changes: changes, registeredAt: now)
            return true
        }
    }

    /// The changes `offset..<offset + count` of `batch`; the batch is forgotten once its last ones are taken.
    func take(batch: String, offset: Int, count: Int) -> [CommittedMessage]? {
        state.withLock { state in
            guard let entry = state.batches[batch], offset >= 0, offset + count <= entry.changes.count else { return nil }
            if offset + count == entry.changes.count { state.batches[batch] = nil }
            return Array(entry.changes[offset..<(offset + count)])
        }
    }
}
