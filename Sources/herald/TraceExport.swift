import Foundation
import HeraldCore
import HeraldServer
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// `serve --otlp-traces-endpoint`: traces exported by OTLP/HTTP through swift-otel.
///
/// The tracer is the process's own (`InstrumentationSystem`, bootstrapped once, as Hummingbird's
/// `TracingMiddleware` expects), wrapped in `RedactingTracer` so no span carries a customer's id or
/// address. Everything else an operator tunes (protocol, headers, sampler, batching) comes from the
/// standard `OTEL_*` variables, which swift-otel reads: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json`,
/// `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_TRACES_SAMPLER`, `OTEL_BSP_SCHEDULE_DELAY`.
enum TraceExport {
    /// Bootstraps the tracer and returns the service that batches and sends its spans (it must run
    /// for anything to be sent, and stops last to send the final batch).
    static func bootstrap(endpoint: String, logger: Logger) throws -> any Service {
        var configuration = OTel.Configuration.default
        configuration.serviceName = "herald"
        configuration.resourceAttributes = ["service.version": HeraldVersion.current]
        configuration.diagnosticLogger = .custom(logger)
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.endpoint = endpoint
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(RedactingTracer(backend.factory))
        return backend.service
    }

    /// Trace and span ids in every log line written inside a span, to go from a log line to its trace.
    static var logMetadata: Logger.MetadataProvider { OTel.makeLoggingMetadataProvider() }

    /// An http or https URL with a host: where the spans go.
    static func validated(_ text: String) -> String? {
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else { return nil }
        return text
    }
}
