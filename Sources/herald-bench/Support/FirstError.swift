import Synchronization

/// The first failure that any of a scenario's concurrent sockets reported; later ones are dropped,
/// since the first is the one that explains the run.
final class FirstError: Sendable {
    private let description = Mutex<String?>(nil)

    func record(_ description: String) { self.description.withLock { $0 = $0 ?? description } }
    func record(_ error: any Error) { record("\(error)") }

    var value: String? { description.withLock { $0 } }
}
