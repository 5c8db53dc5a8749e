public import HeraldCore

/// Why a client call failed.
public enum HeraldClientError: Error, Sendable, Equatable {
    /// The server answered with a problem document (RFC 9457).
    case server(status: Int, type: String?, detail: String?, fields: [FieldProblem])
    /// The server refused a send over the realtime connection (`error` frame); it is not retried.
    case sendRefused(code: String, detail: String)
    /// No answer (network, TLS, timeout); the call may be retried.
    case transport(String)
    /// The client was stopped before the call finished.
    case stopped
    /// The item's signature did not verify; a step-up approval of it is refused on the device.
    case unverified(String)
}
