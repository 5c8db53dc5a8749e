public import Foundation

/// Reading outside JSON into a `JSONValue`, through `JSONParser`; its failures become the one
/// `HeraldError` a body or frame that is not JSON gets. Kept apart from `JSONValue` so that the
/// fuzz target (`scripts/fuzz-json.sh`) compiles the parser and the value alone.
extension JSONValue {
    /// Parses a request body. Invalid UTF-8 and broken JSON are `malformed`, never a crash.
    public static func parse(_ data: Data) throws(HeraldError) -> JSONValue {
        guard String(validating: data, as: UTF8.self) != nil else {
            throw .malformed(detail: "The body is not valid UTF-8.")
        }
        let result = data.withUnsafeBytes { raw in
            Result { () throws(JSONParser.Failure) in try JSONParser.parse(raw.assumingMemoryBound(to: UInt8.self)) }
        }
        return try result.mapError(Self.problem).get()
    }

    /// Parses a text that is already a `String` (a WebSocket text frame, whose UTF-8 was checked).
    public static func parse(text: String) throws(HeraldError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { bytes in
            Result { () throws(JSONParser.Failure) in try JSONParser.parse(bytes) }
        }
        return try result.mapError(Self.problem).get()
    }

    private static func problem(_ failure: JSONParser.Failure) -> HeraldError {
        switch failure {
        case .invalid: .malformed(detail: "The body is not valid JSON.")
        case .tooDeep: .malformed(detail: "The body nests arrays and objects more than \(JSONParser.maxDepth) deep.")
        case .duplicateName: .malformed(detail: "The body names a member of an object twice.")
        }
    }
}
