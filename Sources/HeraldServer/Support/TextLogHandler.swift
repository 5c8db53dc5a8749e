public import Logging

/// swift-log's `StreamLogHandler` (the text format), with the logger's metadata kept as it is set and
/// formatted only when a line is written. `StreamLogHandler` formats all of its metadata again on
/// every change, and every request sets two keys (`request_id`, `app_id`) that an `info` line uses
/// only when one is written: 4% of a history page's CPU with `--log-level notice` (issue 20).
public struct TextLogHandler: LogHandler {
    private var stream: StreamLogHandler
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    /// Standard error, as `StreamLogHandler.standardError`.
    public init(label: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider?) {
        stream = StreamLogHandler.standardError(label: label, metadataProvider: nil)
        stream.logLevel = level
        self.metadataProvider = metadataProvider
    }

    public var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        // `StreamLogHandler`'s order: the logger's own, then the provider's (a span's trace ids), then
        // the call site's, each winning over the one before.
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty { merged.merge(provided) { _, provided in provided } }
        if let explicit = event.metadata { merged.merge(explicit) { _, explicit in explicit } }
        event.metadata = merged
        stream.log(event: event)
    }
}
