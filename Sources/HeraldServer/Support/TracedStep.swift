import Tracing

/// A child span of the traced request around one of its steps: `herald.commit` (the durable write) and
/// `herald.deliver` (the fan-out to live connections), with the number of things the step handled.
///
/// Outside a traced request (a realtime frame, a scheduler's batch, tracing off) no span is made: a
/// step without its request would be a root trace of its own, noise in every trace view, and the
/// check costs one task-local read on the hot path.
enum TracedStep {
    static func run<T>(
        _ name: String, _ attributes: SpanAttributes = [:], isolation: isolated (any Actor)? = #isolation, _ operation: () async throws -> T
    ) async rethrows -> T {
        guard InstrumentationContext.current != nil else { return try await operation() }
        return try await withSpan(name, ofKind: .internal, isolation: isolation) { span in
            span.attributes = attributes
            return try await operation()
        }
    }

    /// The synchronous form, for work done inside a commit (the commit observer delivers in place).
    static func run<T>(_ name: String, _ attributes: SpanAttributes = [:], _ operation: () throws -> T) rethrows -> T {
        guard InstrumentationContext.current != nil else { return try operation() }
        return try withSpan(name, ofKind: .internal) { span in
            span.attributes = attributes
            return try operation()
        }
    }
}
