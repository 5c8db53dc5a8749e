/// Users chosen by their metadata: every given key must equal the given value
/// (`{"metadata": {"tier": "gold", "country": "KR"}}`). Values are strings, numbers or booleans.
public struct Segment: Codable, Equatable, Sendable {
    public var metadata: [String: JSONValue]

    public init(metadata: [String: JSONValue]) {
        self.metadata = metadata
    }

    /// Whether a user with `metadata` belongs to the segment.
    public func matches(_ metadata: [String: JSONValue]) -> Bool {
        self.metadata.allSatisfy { key, value in metadata[key] == value }
    }

    /// - Parameter path: where the segment is in the request, for the problems its members name.
    static func read(_ value: JSONValue, into reader: inout ObjectReader, path: String = "segment.") -> Segment? {
        guard var fields = try? ObjectReader(value, path: path) else {
            reader.report("segment", .wrongType, detail: "expected an object")
            return nil
        }
        let metadata = fields.object("metadata", maxBytes: 4 * 1024)
        if metadata == nil, fields.problems.isEmpty { fields.report("metadata", .required) }
        if let metadata {
            if !(1...10).contains(metadata.count) { fields.report("metadata", .invalidValue, detail: "1 to 10 keys") }
            for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
                switch value {
                case .string, .number, .bool: continue
                default: fields.report("metadata.\(key)", .wrongType, detail: "a string, number or boolean")
                }
            }
        }
        let isValid = fields.problems.isEmpty
        reader.absorb(fields)
        return isValid ? metadata.map(Segment.init(metadata:)) : nil
    }
}
