import Foundation
import HeraldCore
import PropertyBased
import Testing

/// Every parser of outside input against generated input: every integer boundary, huge and deeply
/// nested values, Unicode edge cases, wrong types, truncated and invalid bytes. The property: a value
/// or a `HeraldError` (the parsers' typed throws make anything else impossible to return), never a
/// trap, within a time bound (a hang detector, far above what any input should take).
@Suite("Body, frame and template parsers, by property")
struct BodyParserPropertyTests {
    /// Per input, far above any honest parse; a parser that loops or explodes exceeds it.
    static let bound = Duration.seconds(2)

    static func withinBound(_ body: () -> Void) -> Bool {
        ContinuousClock().measure(body) < bound
    }

    @Test("Request bodies of every route parser: a value or a HeraldError, in time")
    func bodies() async {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let action = NotificationAction(id: "approve", label: "Approve", stepUp: true)
        let parsers: [(String, (Data) -> Void)] = [
            ("message", { _ = try? NewMessage(body: $0, allowsSender: true) }),
            ("channel", { _ = try? NewChannel(body: $0) }),
            ("members", { _ = try? MemberList(body: $0) }),
            ("edit", { _ = try? MessageEdit(body: $0) }),
            ("profile", { _ = try? UserProfile(body: $0) }),
            ("token", { _ = try? TokenRequest(body: $0) }),
            ("notification", { _ = try? NewNotification(body: $0, now: now) }),
            ("device", { _ = try? NewDevice(body: $0) }),
            ("template", { _ = try? TemplateDefinition(body: $0) }),
            ("settings", { _ = try? AppSettings().merging(body: $0) }),
            ("action", { _ = try? ActionRequest(body: $0, action: action) }),
        ]
        await propertyCheck(count: 400, input: Gen.uint64()) { seed in
            var random = Xoshiro(seed: seed)
            let body = FuzzJSON.body(using: &random)
            for (name, parse) in parsers {
                #expect(Self.withinBound { parse(body) }, "\(name) took too long on \(body.count) bytes (seed \(seed))")
            }
        }
    }

    @Test("Client frames: a frame or a ClientFrameError, in time")
    func frames() async {
        await propertyCheck(count: 1_000, input: Gen.uint64()) { seed in
            var random = Xoshiro(seed: seed)
            let text = FuzzJSON.frame(using: &random)
            #expect(Self.withinBound { _ = try? ClientFrame(text: text) }, "seed \(seed)")
        }
    }

    @Test("Template sources and variables: compiled and rendered, or refused with a HeraldError, in time")
    func templates() async {
        await propertyCheck(count: 600, input: Gen.uint64()) { seed in
            var random = Xoshiro(seed: seed)
            let title = FuzzJSON.templateSource(using: &random)
            let body = FuzzJSON.templateSource(using: &random)
            let variables = FuzzJSON.variables(using: &random)
            #expect(
                Self.withinBound {
                    guard let template = try? CompiledTemplate(TemplateDefinition(category: .transactional, title: title, body: body)) else { return }
                    _ = try? template.checkVariables(variables)
                    _ = try? template.render(locale: nil, variables: variables)
                }, "seed \(seed): \(title) | \(body)")
        }
    }

    @Test("Deep nesting and huge bodies are refused, not a stack overflow")
    func extremes() {
        let deep = Data((String(repeating: "[", count: 60_000) + String(repeating: "]", count: 60_000)).utf8)
        let deepObject = Data((String(repeating: #"{"a":"#, count: 12_000) + "1" + String(repeating: "}", count: 12_000)).utf8)
        for body in [deep, deepObject] {
            #expect(throws: HeraldError.self) { try NewMessage(body: body, allowsSender: false) }
            #expect(throws: HeraldError.self) { try AppSettings().merging(body: body) }
        }
        #expect(throws: ClientFrameError.self) { try ClientFrame(text: String(decoding: deep, as: UTF8.self)) }
    }
}

extension Xoshiro {
    /// PropertyBased's generator, seeded from one generated number, so a failing input is reproduced
    /// from the seed the failure names.
    init(seed: UInt64) {
        self.init(seed: (seed, seed ^ 0x9E37_79B9_7F4A_7C15, ~seed, 0x2545_F491_4F6C_DD1D))
    }
}

/// Generated JSON (and not quite JSON) for the parsers above.
enum FuzzJSON {
    /// Field names the parsers know, so generated objects reach past the first check.
    static let keys = [
        "text", "data", "sender", "type", "members", "name", "title", "body", "variables", "template", "audience", "users", "segment", "category",
        "actions", "id", "label", "stepUp", "input", "options", "locale", "scheduledAt", "expiresAt", "ttlSeconds", "metadata", "platform",
        "token", "subscription", "endpoint", "keys", "p256dh", "auth", "stepUpKey", "retention", "messageDays", "push", "content", "realtime",
        "allowedOrigins", "links", "allowedDomains", "quietHours", "start", "end", "timeZone", "proof", "signature", "challenge", "value", "choice",
        "channelId", "clientMessageId", "afterSeq", "seq", "localizations", "follow", "expirationTime", "x", "",
    ]
    static let numbers = [
        "0", "-0", "1", "-1", "9007199254740992", "9007199254740993", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "1e308", "1e309", "-1e309", "1e-400", "0.5", "3.14159", "18446744073709551616", "100", "101", "1000", "10001", "2147483648",
    ]
    static let strings = [
        "", "a", "ana", "ch_0000000000000000000000000a", "https://evil.example/x", "xn--80ak6aa92e.com", "\u{202E}gnp.exe", "\u{0}", "\u{FEFF}",
        "e\u{301}\u{301}\u{301}", "👩‍👩‍👧‍👦", "\u{10FFFF}", "{{#a}}{{#a}}{{/a}}{{/a}}", "apns", "fcm", "webpush", "security", "marketing",
        "2026-12-06T10:00:00Z", "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "UTC", "Europe/Zurich", "Mars/Olympus", "25:00",
    ]

    static func pick<T>(_ list: [T], using random: inout Xoshiro) -> T { list[Int(random.next() % UInt64(list.count))] }

    static func value(depth: Int, using random: inout Xoshiro) -> String {
        // Past depth 6 only scalars, so generation itself stays shallow.
        let roll = depth < 6 ? random.next() % 12 : random.next() % 7
        switch roll {
        case 0: return "null"
        case 1: return random.next() % 2 == 0 ? "true" : "false"
        case 2, 3: return pick(numbers, using: &random)
        case 4, 5: return quoted(pick(strings, using: &random))
        case 6: return quoted(String(repeating: pick(["a", "é", "😀", " "], using: &random), count: Int(random.next() % (depth == 0 ? 20_000 : 300))))
        case 7, 8:
            let count = Int(random.next() % (random.next() % 4 == 0 ? 120 : 5))
            return "[" + (0..<count).map { _ in value(depth: depth + 1, using: &random) }.joined(separator: ",") + "]"
        case 9, 10, 11:
            return object(depth: depth + 1, using: &random)
        default:
            return pick(numbers, using: &random)
        }
    }

    static func object(depth: Int, using random: inout Xoshiro) -> String {
        let count = Int(random.next() % 8)
        let fields = (0..<count).map { _ in quoted(pick(keys, using: &random)) + ":" + value(depth: depth, using: &random) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func quoted(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// The largest request body the server reads (64 KiB; larger ones are 413 before any parsing).
    static let maxBody = 64 * 1024

    /// A body: mostly an object, sometimes another JSON value, truncated text, invalid UTF-8 or deep
    /// nesting; at most `maxBody` bytes, as the server would read it.
    static func body(using random: inout Xoshiro) -> Data {
        let data = unboundedBody(using: &random)
        return data.count > maxBody ? data.prefix(maxBody) : data
    }

    private static func unboundedBody(using random: inout Xoshiro) -> Data {
        switch random.next() % 10 {
        case 0: return Data(value(depth: 0, using: &random).utf8)
        case 1:
            let text = object(depth: 0, using: &random)
            return Data(text.utf8.prefix(Int(random.next() % UInt64(text.utf8.count + 1))))
        case 2: return Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D])
        case 3:
            let depth = Int(random.next() % 3_000)
            return Data((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8)
        default: return Data(object(depth: 0, using: &random).utf8)
        }
    }

    static func frame(using random: inout Xoshiro) -> String {
        let type = quoted(pick(["auth", "message.send", "sync", "read", "typing", "ping", "", "AUTH"], using: &random))
        let rest = object(depth: 1, using: &random).dropFirst()
        let text = random.next() % 8 == 0 ? String(decoding: body(using: &random), as: UTF8.self) : "{\"type\":\(type)" + (rest == "}" ? "}" : "," + rest)
        return String(decoding: text.utf8.prefix(maxBody), as: UTF8.self)
    }

    static let templateTokens = [
        "{{", "}}", "{{a}}", "{{b.c}}", "{{#a}}", "{{/a}}", "{{^a}}", "{{#b}}", "{{/b}}", "{{>p}}", "{{&a}}", "{{{a}}}", "{{=<% %>=}}", "{{!c}}",
        "{{.}}", "{{#a}}{{#a}}{{#a}}{{#a}}", "{{/a}}{{/a}}{{/a}}{{/a}}", "text ", "é", "https://x.example", "{{a(b)}}", "{{#a.b.c}}", "{{/a.b.c}}",
    ]

    static func templateSource(using random: inout Xoshiro) -> String {
        (0..<Int(random.next() % 12)).map { _ in pick(templateTokens, using: &random) }.joined()
    }

    static func variables(using random: inout Xoshiro) -> [String: JSONValue] {
        let text = object(depth: 2, using: &random)
        guard case .object(let fields)? = try? JSONValue.parse(Data(text.utf8)) else { return [:] }
        var variables = fields
        if random.next() % 3 == 0 {
            let count = Int(random.next() % 300)
            variables["a"] = .array((0..<count).map { _ in .object(["a": .array([.bool(true), .bool(true)])]) })
        }
        return variables
    }
}
