import HeraldCore

/// Connects receivers into a scenario's task group, at most `inFlight` handshakes at a time, and
/// returns once every one said `ready`: senders must not start earlier, since live delivery reaches
/// connected sockets only. A receiver that cannot connect fails the run instead of leaving it waiting.
enum ReceiverGroup {
    static let inFlight = 128

    /// - Parameters:
    ///   - token: the token of receiver `index`.
    ///   - messages: `message.created` frames after which receiver `index` closes.
    ///   - onFrame: every frame receiver `index` reads.
    static func connect(
        _ count: Int, into group: inout ThrowingTaskGroup<Void, any Error>, url: @escaping @Sendable (Int) -> String, messages: Int, token: @escaping @Sendable (Int) -> String,
        onFrame: @escaping @Sendable (_ index: Int, ScannedFrame) -> Void
    ) async throws {
        let settled = Tally()
        let failure = FirstError()
        for index in 0..<count {
            if index >= inFlight { await settled.wait(atLeast: index - inFlight + 1) }
            group.addTask {
                do {
                    try await BenchSocket.receive(url: url(index), token: token(index), count: messages) { frame in
                        if frame.kind == .ready { settled.add() }
                        onFrame(index, frame)
                    }
                } catch {
                    failure.record(error)
                    settled.add()
                    throw error
                }
            }
        }
        await settled.wait(atLeast: count)
        if let error = failure.value { throw LatencyScenario.Failure(description: "a receiver could not connect: \(error)") }
    }
}
