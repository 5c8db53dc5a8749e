import Foundation
import HeraldCore
import HeraldTestSupport
import PropertyBased
import Testing

/// Herald's JSON parser (`JSONValue.parse`) against Foundation's `JSONDecoder`, the parser it replaced:
/// on every input both accept, they read the same value; what one accepts and the other refuses is
/// only what Herald refuses on purpose (a member named twice, nesting deeper than 64, a comma before a
/// closing bracket).
@Suite("JSON parser")
struct JSONParserTests {
    /// Foundation's reading of `data`, or nil where it refuses it.
    static func foundation(_ data: Data) -> JSONValue? {
        guard String(validating: data, as: UTF8.self) != nil else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: data)
    }

    static func herald(_ data: Data) -> Result<JSONValue, HeraldError> {
        Result { () throws(HeraldError) in try JSONValue.parse(data) }
    }

    /// The property, for one input: the same value, or a refusal Herald makes on purpose.
    static func agree(_ data: Data) -> Bool { disagreement(data) == nil }

    /// What each parser made of `data`, when they disagree.
    static func disagreement(_ data: Data) -> String? {
        let (ours, theirs) = (herald(data), foundation(data))
        guard !agrees(ours, theirs, data) else { return nil }
        return "Herald: \(String(describing: ours).prefix(400)); Foundation: \(String(describing: theirs).prefix(400))"
    }

    private static func agrees(_ ours: Result<JSONValue, HeraldError>, _ theirs: JSONValue?, _ data: Data) -> Bool {
        switch (ours, theirs) {
        case (.success(let ours), .some(let theirs)): return ours == theirs
        case (.success(let value), .none):
            // JSONDecoder refuses some zeros with an exponent (see `JSONOracle.writingZerosPlainly`).
            let text = String(decoding: data, as: UTF8.self)
            let plain = JSONOracle.writingZerosPlainly(text)
            return plain != text && foundation(Data(plain.utf8)) == value
        case (.failure, .none): return true
        case (.failure(let error), .some(let theirs)):
            if error == .malformed(detail: "The body names a member of an object twice.") { return true }
            if error == .malformed(detail: "The body nests arrays and objects more than 64 deep.") {
                return JSONOracle.nestingDepth(String(decoding: data, as: UTF8.self)) > 64
            }
            // JSONDecoder reads `[1,]` as `[1]`: without the trailing commas Herald must read the same.
            let text = String(decoding: data, as: UTF8.self)
            let withoutTrailingCommas = JSONOracle.removingTrailingCommas(text)
            guard withoutTrailingCommas != text else { return false }
            return (try? JSONValue.parse(Data(withoutTrailingCommas.utf8))) == theirs
        }
    }

    @Test("Values both parsers read: strings, escapes, numbers, literals, nesting, whitespace")
    func accepted() throws {
        let cases: [(String, JSONValue)] = [
            (#""plain""#, .string("plain")),
            (#""\"\\\/\b\f\n\r\t""#, .string("\"\\/\u{8}\u{C}\n\r\t")),
            (#""\u00e9\u0000\uD83D\uDE00""#, .string("é\u{0}😀")),
            ("\"é😀\u{202E}\"", .string("é😀\u{202E}")),
            ("0", .number(0)), ("-0", .number(-0.0)), ("12", .number(12)), ("-12.5e2", .number(-1250)), ("1E+2", .number(100)), ("2e-3", .number(0.002)),
            ("9007199254740993", .number(9_007_199_254_740_993)), ("123456789012345678901234567890", .number(1.2345678901234568e29)),
            ("true", .bool(true)), ("false", .bool(false)), ("null", .null),
            (" \t\r\n[ 1 , {\"a\" : [ ] } ] \n", .array([.number(1), .object(["a": .array([])])])),
            ("\u{FEFF}{}", .object([:])),
            ("0e1", .number(0)), ("-0.0e30", .number(0)),
            // Found by the fuzz target: a quote and a combining mark are one Character, not two.
            ("[\"\u{06EA},ntyped/\",0e2]", .array([.string("\u{06EA},ntyped/"), .number(0)])),
        ]
        for (text, expected) in cases {
            let data = Data(text.utf8)
            #expect(try JSONValue.parse(data) == expected, "\(text)")
            #expect(Self.foundation(Data(JSONOracle.writingZerosPlainly(text).utf8)) == expected, "Foundation reads \(text) the same")
        }
    }

    @Test("Texts both parsers refuse: broken syntax, bad escapes, lone surrogates, control characters, numbers JSON does not allow")
    func refused() {
        let cases = [
            "", " ", "{", "}", "[1,,]", "[,]", "{,}", "{\"a\"}", "{a:1}", "[1 2]", "\"open", "\"tab\there\"", "\"\\x\"", "\"\\u12\"", "\"\\uD83D\"",
            "\"\\uDE00\"", "\"\\uD83Dx\"", "\"\\uD83D\\u0041\"", "01", "1.", ".5", "-", "+1", "1e", "1e+", "NaN", "Infinity", "1e400", "-1e400", "tru",
            "nul", "truex", "[] []", "'a'", "\u{0}", "1e-400", "[2.4e-324]",
        ]
        for text in cases {
            let data = Data(text.utf8)
            #expect(throws: HeraldError.self, "\(text.debugDescription)") { try JSONValue.parse(data) }
            #expect(Self.foundation(data) == nil, "Foundation refuses \(text.debugDescription) too")
        }
    }

    @Test("A member named twice, nesting past 64 and trailing commas are refused, though JSONDecoder reads them")
    func deliberateRefusals() throws {
        let twice = Data(#"{"amount":1,"amount":1000000}"#.utf8)
        let trailing = [Data("[1,]".utf8), Data(#"{"a":1 , }"#.utf8)]
        let deep = Data((String(repeating: "[", count: 65) + String(repeating: "]", count: 65)).utf8)
        let deepest = Data((String(repeating: "[", count: 64) + String(repeating: "]", count: 64)).utf8)

        #expect(throws: HeraldError.malformed(detail: "The body names a member of an object twice.")) { try JSONValue.parse(twice) }
        #expect(throws: HeraldError.malformed(detail: "The body names a member of an object twice."), "canonically equivalent names are one name") {
            try JSONValue.parse(Data(#"{"\u00e9":1,"e\u0301":2}"#.utf8))
        }
        #expect(throws: HeraldError.malformed(detail: "The body nests arrays and objects more than 64 deep.")) { try JSONValue.parse(deep) }
        #expect(try JSONValue.parse(deepest) != .null)
        #expect(Self.foundation(twice) != nil && Self.foundation(deep) != nil)
        for data in trailing {
            #expect(throws: HeraldError.malformed(detail: "The body is not valid JSON.")) { try JSONValue.parse(data) }
            #expect(Self.foundation(data) != nil)
        }
    }

    @Test("Generated bodies and frames: both parsers read the same value, or Herald refuses on purpose")
    func differentialBodies() async {
        await propertyCheck(count: 1_500, input: Gen.uint64()) { seed in
            var random = Xoshiro(seed: seed)
            let data = random.next() % 2 == 0 ? FuzzJSON.body(using: &random) : Data(FuzzJSON.frame(using: &random).utf8)
            let disagreement = Self.disagreement(data)
            #expect(disagreement == nil, "seed \(seed): \(String(decoding: data.prefix(300), as: UTF8.self)) -> \(disagreement ?? "")")
        }
    }

    @Test("Generated token soup (JSON's own characters in random order): the same verdict and value from both parsers")
    func differentialTokens() async {
        let tokens = [
            "{", "}", "[", "]", ",", ":", "\"", "\"a\"", "\"b\"", "1", "-", "0", "9", ".", "e", "E", "+", "true", "false", "null", " ", "\n", "\\",
            "\\u", "D83D", "DE00", "00e9", "\\n", "\\\"", "é", "\u{1}", "\u{7F}", "1e400", "-0.0", "tru",
        ]
        await propertyCheck(count: 4_000, input: Gen.uint64()) { seed in
            var random = Xoshiro(seed: seed)
            let text = (0..<Int(random.next() % 14)).map { _ in FuzzJSON.pick(tokens, using: &random) }.joined()
            let disagreement = Self.disagreement(Data(text.utf8))
            #expect(disagreement == nil, "seed \(seed): \(text.debugDescription) -> \(disagreement ?? "")")
        }
    }

    @Test("Generated values survive their canonical encoding read back")
    func roundTrip() async throws {
        await propertyCheck(count: 600, input: Gen.uint64()) { seed in
            var random = Xoshiro(seed: seed)
            let text = FuzzJSON.value(depth: 0, using: &random)
            guard let value = try? JSONValue.parse(Data(text.utf8)) else { return }
            #expect((try? JSONValue.parse(value.canonicalData())) == value, "seed \(seed)")
        }
    }
}
