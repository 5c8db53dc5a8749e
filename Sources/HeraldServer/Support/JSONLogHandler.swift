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

        /// write(2) in a loop; a failed write (the reader went away, the disk is full) drops the line
        /// rather than stopping the server, as the text handler's `fwrite` does.
        public static let standardError = Output { data in
            data.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Foundation.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                    if written > 0 {
                        offset += written
                    } else if written < 0, errno == EINTR {
                        continue
                    } else {
                        return
                    }
                }
            }
        }

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
            // Numbers stay numbers where a JSON number holds them exactly; anything else is its text.
            switch convertible {
            case let number as any BinaryInteger: Self.exactly(number).map(JSONValue.number) ?? .string(convertible.description)
            case let number as Double where number.isFinite: .number(number)
            case let flag as Bool: .bool(flag)
            default: .string(convertible.description)
            }
        case .array(let values): .array(values.map(json))
        case .dictionary(let entries): .object(entries.mapValues(json))
        }
    }

    /// The integer as a double when the double holds it exactly (up to 2^53).
    private static func exactly(_ number: some BinaryInteger) -> Double? {
        guard let value = Int64(exactly: number), value.magnitude <= 1 << 53 else { return nil }
        return Double(value)
    }
}
