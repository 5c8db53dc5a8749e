// libFuzzer target for Herald's JSON parser (`scripts/fuzz-json.sh` builds and runs it).
//
// Compiled together with HeraldCore's JSONParser.swift, JSONValue.swift and JSONBytes.swift into one module, so it
// reaches the internal parser. Checks, for any bytes: no trap; whatever the parser reads, Foundation's
// JSONDecoder reads the same value; whatever JSONDecoder reads, the parser reads too, unless it refuses
// on purpose (a member named twice, nesting deeper than JSONParser.maxDepth, a trailing comma); a
// text with a NUL byte is always refused; whatever JSONDecoder
// refuses, the parser refuses too, unless JSONDecoder is wrong (some zeros with an exponent, "0e1");
// and a value read comes back unchanged from its canonical encoding, which is byte for byte what
// JSONEncoder (sorted keys, slashes not escaped) writes for it.

import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONParser(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let buffer = UnsafeBufferPointer(start: bytes, count: count)
    // The parser's contract: valid UTF-8 only (JSONValue.parse checks first).
    guard String(validating: buffer, as: UTF8.self) != nil else { return 0 }
    let ours = Result { () throws(JSONParser.Failure) in try JSONParser.parse(buffer) }
    // A NUL byte is neither whitespace nor allowed unescaped in a string: always refused. (JSONDecoder
    // reads a top-level number cut short at a NUL, "1\0x" as 1 and "-\0" too, so it is no reference here.)
    if buffer.contains(0) {
        precondition((try? ours.get()) == nil, "read a text with a NUL byte")
        return 0
    }
    let theirs = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer))
    switch (ours, theirs) {
    case (.success(let value), .some(let other)):
        precondition(value == other, "different values for \(String(decoding: buffer, as: UTF8.self).debugDescription)")
    case (.success(let value), .none):
        // JSONDecoder refuses some zeros with an exponent (see JSONOracle.writingZerosPlainly); nothing else the
        // parser reads may be refused.
        let text = String(decoding: buffer, as: UTF8.self)
        let plain = JSONOracle.writingZerosPlainly(text)
        precondition(
            plain != text && (try? JSONDecoder().decode(JSONValue.self, from: Data(plain.utf8))) == value,
            "read what JSONDecoder refuses: \(text.debugDescription)")
    case (.failure(let failure), .some(let other)):
        if failure == .tooDeep {
            precondition(JSONOracle.nestingDepth(String(decoding: buffer, as: UTF8.self)) > JSONParser.maxDepth, "too deep, but it is not")
            break
        }
        guard failure == .invalid, !readsAfterAll(buffer, as: other) else { break }
        preconditionFailure("refused what JSONDecoder reads: \(String(decoding: buffer, as: UTF8.self).debugDescription)")
    case (.failure, .none):
        break
    }
    if case .success(let value) = ours {
        let encoded = value.canonicalData()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        precondition(encoded == (try? encoder.encode(value)), "canonical bytes differ from JSONEncoder's")
        let again = encoded.withUnsafeBytes { raw in
            Result { () throws(JSONParser.Failure) in try JSONParser.parse(raw.assumingMemoryBound(to: UInt8.self)) }
        }
        precondition((try? again.get()) == value, "the canonical encoding does not read back")
    }
    return 0
}

/// Whether the parser reads `other` from `buffer` once the commas JSONDecoder allows before a closing
/// bracket (RFC 8259 does not) are taken out.
func readsAfterAll(_ buffer: UnsafeBufferPointer<UInt8>, as other: JSONValue) -> Bool {
    let text = String(decoding: buffer, as: UTF8.self)
    var withoutTrailingCommas = JSONOracle.removingTrailingCommas(text)
    guard withoutTrailingCommas != text else { return false }
    return withoutTrailingCommas.withUTF8 { (try? JSONParser.parse($0)) == other }
}

