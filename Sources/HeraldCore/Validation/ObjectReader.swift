public import Foundation

/// Reads a JSON object field by field and collects every problem before failing.
///
/// Written by hand because `Decodable` stops at the first error and silently ignores unknown keys,
/// while the API promises to name every bad field and to refuse fields it does not know (a typo
/// like `"txt"` must not be accepted as an empty message).
public struct ObjectReader {
    private let fields: [String: JSONValue]
    private let path: String
    private var consumed: Set<String> = []
    public private(set) var problems: [FieldProblem] = []

    /// `path` prefixes field names in problems (`"content."` for a nested object).
    public init(_ value: JSONValue, path: String = "") throws(HeraldError) {
        guard case .object(let fields) = value else {
            if path.isEmpty { throw .malformed(detail: "The body must be a JSON object.") }
            throw .invalid(field: String(path.dropLast()), .wrongType, detail: "expected an object")
        }
        self.fields = fields
        self.path = path
    }

    /// Parses `body` as a JSON object; an empty body reads as `{}`, so optional-only requests may omit it.
    public init(body: Data) throws(HeraldError) {
        if body.isEmpty || body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            try self.init(.object([:]))
        } else {
            try self.init(JSONValue.parse(body))
        }
    }

    public mutating func report(_ field: String, _ reason: FieldProblem.Reason, detail: String? = nil) {
        problems.append(FieldProblem(field: path + field, reason: reason, detail: detail))
    }

    /// Whether the field is present with the value `null` (to clear a setting, as opposed to leaving it out).
    public mutating func isNull(_ key: String) -> Bool {
        guard fields[key] == .null else { return false }
        consumed.insert(key)
        return true
    }

    /// The raw value, or nil when absent or `null`.
    public mutating func value(_ key: String) -> JSONValue? {
        consumed.insert(key)
        switch fields[key] {
        case .none, .null?: return nil
        case let value?: return value
        }
    }

    public mutating func string(_ key: String, required: Bool = false, maxLength: Int? = nil, minLength: Int = 0) -> String? {
        guard let value = value(key) else {
            if required { report(key, .required) }
            return nil
        }
        guard case .string(let text) = value else {
            report(key, .wrongType, detail: "expected a string, got \(value.typeName)")
            return nil
        }
        let length = text.count
        if let maxLength, length > maxLength {
            report(key, .tooLong, detail: "at most \(maxLength) characters")
            return nil
        }
        if length < minLength {
            report(key, required && length == 0 ? .required : .tooShort, detail: "at least \(minLength) characters")
            return nil
        }
        return text
    }

    public mutating func integer(_ key: String, required: Bool = false, range: ClosedRange<Int64>) -> Int64? {
        guard let value = value(key) else {
            if required { report(key, .required) }
            return nil
        }
        // Up to 2^53, every integer a JSON number carries exactly; the range then says what the field takes.
        guard case .number(let number) = value, number.rounded() == number, abs(number) <= 9_007_199_254_740_992 else {
            report(key, .wrongType, detail: "expected an integer")
            return nil
        }
        let integer = Int64(number)
        guard range.contains(integer) else {
            report(key, .outOfRange, detail: "between \(range.lowerBound) and \(range.upperBound)")
            return nil
        }
        return integer
    }

    public mutating func bool(_ key: String) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else {
            report(key, .wrongType, detail: "expected a boolean")
            return nil
        }
        return flag
    }

    /// A free-form object whose canonical JSON is at most `maxBytes`.
    public mutating func object(_ key: String, maxBytes: Int) -> [String: JSONValue]? {
        guard let value = value(key) else { return nil }
        guard case .object(let object) = value else {
            report(key, .wrongType, detail: "expected an object, got \(value.typeName)")
            return nil
        }
        if value.canonicalData().count > maxBytes {
            report(key, .tooLarge, detail: "at most \(maxBytes) bytes of JSON")
            return nil
        }
        return object
    }

    /// A list of strings, each parsed by `parse`; problems name the element (`members[2]`).
    public mutating func list<Element>(
        _ key: String,
        required: Bool = false,
        count range: ClosedRange<Int>,
        element parse: (String) -> (Element?, FieldProblem.Reason)
    ) -> [Element]? {
        guard let value = value(key) else {
            if required { report(key, .required) }
            return nil
        }
        guard case .array(let items) = value else {
            report(key, .wrongType, detail: "expected an array, got \(value.typeName)")
            return nil
        }
        guard range.contains(items.count) else {
            report(key, items.count > range.upperBound ? .tooMany : .tooShort, detail: "\(range.lowerBound) to \(range.upperBound) items")
            return nil
        }
        var result: [Element] = []
        var isValid = true
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                report("\(key)[\(index)]", .wrongType, detail: "expected a string")
                isValid = false
                continue
            }
            let (element, reason) = parse(text)
            if let element {
                result.append(element)
            } else {
                report("\(key)[\(index)]", reason)
                isValid = false
            }
        }
        return isValid ? result : nil
    }

    /// Accepts the fields not read so far: for documents another party defines (Google's
    /// service-account file), where unknown fields are expected and are simply not kept.
    public mutating func ignoreUnreadFields() {
        consumed.formUnion(fields.keys)
    }

    /// Finishes the reader of a nested object (made with a `path`) and takes over its problems.
    public mutating func absorb(_ nested: ObjectReader) {
        var nested = nested
        try? nested.finish()
        problems += nested.problems
    }

    /// Reports every field that was not read, then throws if anything was wrong.
    public mutating func finish() throws(HeraldError) {
        for key in fields.keys.sorted() where !consumed.contains(key) {
            report(key, .unknownField)
        }
        if !problems.isEmpty { throw .invalid(problems) }
    }
}
