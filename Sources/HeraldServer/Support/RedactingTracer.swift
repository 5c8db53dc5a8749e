public import Tracing

/// A tracer that never records what names a customer: the spans of `wrapped` lose the attributes
/// listed in `RedactedAttributes.names`, whoever sets them.
///
/// Hummingbird's `TracingMiddleware` records the request's path and query (`/v1/users/cust-4711/...`,
/// cursors) and the client's address; Herald's spans carry the route pattern (`http.route`) instead,
/// as its request logs do. Filtering here, where every span passes, covers every library that traces,
/// not only the middleware Herald configures.
public struct RedactingTracer<Wrapped: Tracer>: Tracer {
    private let wrapped: Wrapped

    public init(_ wrapped: Wrapped) { self.wrapped = wrapped }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> InstrumentationContext, ofKind kind: SpanKind, at instant: @autoclosure () -> Instant,
        function: String, file fileID: String, line: UInt
    ) -> RedactingSpan<Wrapped.Span> {
        RedactingSpan(wrapped: wrapped.startSpan(operationName, context: context(), ofKind: kind, at: instant(), function: function, file: fileID, line: line))
    }

    @available(*, deprecated)
    public func forceFlush() { wrapped.forceFlush() }

    /// Continues a caller's trace (`traceparent`) only for the Platform API (an `hk_` API key): a
    /// customer's app, or anyone on the internet, would otherwise choose its own trace ids, attach its
    /// spans to a bank's traces, and steer parent-based sampling. An unverified key ends in a 401 anyway.
    public func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout InstrumentationContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard let authorization = extractor.extract(key: "authorization", from: carrier), authorization.hasPrefix("Bearer hk_") else { return }
        wrapped.extract(carrier, into: &context, using: extractor)
    }

    public func inject<Carrier, Inject: Injector>(_ context: InstrumentationContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        wrapped.inject(context, into: &carrier, using: injector)
    }
}

/// Span attributes that carry identifiers of customers (in paths and queries) or their addresses.
public enum RedactedAttributes {
    public static let names: Set<String> = [
        "url.path", "url.query", "url.full", "net.sock.peer.addr", "net.sock.peer.port", "client.address", "client.port",
    ]

    static func kept(_ attributes: SpanAttributes) -> SpanAttributes {
        var kept = SpanAttributes()
        attributes.forEach { name, value in if !names.contains(name) { kept.set(name, value: value) } }
        return kept
    }
}

/// What a span records of an error: its type, never its description.
struct RedactedError: Error, CustomStringConvertible {
    let type: String
    var description: String { type }
}

/// A span whose attributes (and its events') lose `RedactedAttributes.names` on their way in, and whose
/// errors are recorded by type.
public struct RedactingSpan<Wrapped: Span>: Span {
    let wrapped: Wrapped

    public var context: InstrumentationContext { wrapped.context }

    public var operationName: String {
        get { wrapped.operationName }
        nonmutating set { wrapped.operationName = newValue }
    }

    public var attributes: SpanAttributes {
        get { wrapped.attributes }
        nonmutating set { wrapped.attributes = RedactedAttributes.kept(newValue) }
    }

    public var isRecording: Bool { wrapped.isRecording }

    public func setStatus(_ status: SpanStatus) { wrapped.setStatus(status) }

    public func addEvent(_ event: SpanEvent) {
        var event = event
        event.attributes = RedactedAttributes.kept(event.attributes)
        wrapped.addEvent(event)
    }

    /// The error's type only: an error's description may quote what it failed on (a stored key, an id).
    public func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        wrapped.recordError(RedactedError(type: String(reflecting: type(of: error))), attributes: RedactedAttributes.kept(attributes), at: instant())
    }

    public func addLink(_ link: SpanLink) { wrapped.addLink(link) }

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) { wrapped.end(at: instant()) }
}
