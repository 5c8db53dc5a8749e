public import Foundation
public import Logging
import HeraldCore
import Synchronization

/// Log lines for a log pipeline (`--log-format json`): one JSON object per line on standard error, with
/// `time` (RFC 3339, milliseconds), `level`, `logger` (the label), `message`, and every metadata key at
/// the top level (`request_id`, `app_id`, `method`, `route`, `status`, `duration_ms`, …). Metadata
/// values keep their JSON shape: strings, lists and objects; numbers given as `stringConvertible` stay
/// numbers. Nothing here decides what is logged: callers log ids, never content or secrets.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let output: Output

    /// Writes whole lines, one at a time, so that lines of concurrent tasks never interleave.
    public final class Output: Sendable {
        private let write: Mutex<@Sendable (Data) -> Void>

        public init(_ write: @escaping @Sendable (Data) -> Void) { self.write = Mutex(write) }

        public static let standardError = Output { FileHandle.standardError.write($0) }

        func line(_ data: Data) { write.withLock { $0(data) } }
    }

    public init(label: String, level: Logger.Level = .info, output: Output = .standardError) {
        self.label = label
        self.logLevel = level
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: JSONValue] = [:]
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let given = event.metadata { merged.merge(given) { $1 } }
        for (key, value) in merged { fields[key] = Self.json(value) }
        fields["time"] = .string(WireTime.format(Date()))
        fields["level"] = .string(event.level.rawValue)
        fields["logger"] = .string(label)
        fields["message"] = .string(event.message.description)
        var line = JSONValue.object(fields).canonicalData()
        line.append(0x0A)
        output.line(line)
    }

    private static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible):
            switch convertible {
            case let number as Int: .number(Double(number))
            case let number as Int64: .number(Double(number))
            case let number as Double: .number(number)
            case let flag as Bool: .bool(flag)
            default: .string(convertible.description)
            }
        case .array(let values): .array(values.map(json))
        case .dictionary(let entries): .object(entries.mapValues(json))
        }
    }
}
