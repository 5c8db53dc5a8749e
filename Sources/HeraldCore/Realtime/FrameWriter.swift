public import Foundation

/// Server frames written straight into bytes, without Foundation's `JSONEncoder`: the realtime hot
/// path (an `ack`, each `message.created`) encodes a frame per message and per recipient batch, and
/// `JSONEncoder` (a box per value, a dictionary per object, date strategies through closures) was a
/// tenth of the server's CPU per message (issue 19).
///
/// The output is the same JSON value as `WireJSON.encoder()` writes (fields in another order, which
/// JSON does not fix); `FrameWriterTests` decode both with the SDK's decoder and compare, over
/// generated messages with every kind of text. `inbox.created` (its item has a dozen optional
/// parts and goes out once per recipient anyway) is left to `JSONEncoder`.
public struct FrameWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    /// The frame's JSON text; nil only when `JSONEncoder` fails on an `inbox.created` (it cannot on
    /// values that came from parsed JSON).
    public static func text(of frame: ServerFrame) -> String? {
        var writer = FrameWriter()
        guard writer.write(frame) else { return nil }
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// Appends the frame; false (nothing appended) when an `inbox.created` does not encode.
    @discardableResult
    public mutating func write(_ frame: ServerFrame) -> Bool {
        if case .inboxCreated = frame {
            guard let data = try? WireJSON.encoder().encode(frame) else { return false }
            bytes += data
            return true
        }
        // `type` names are ASCII without anything to escape.
        raw(#"{"type":""#)
        append(frame.type)
        raw("\"")
        switch frame {
        case .ready(let user):
            field("userId", user.rawValue)
        case .ack(let clientMessageID, let message):
            field("clientMessageId", clientMessageID.rawValue)
            raw(#","message":"#)
            write(message)
        case .messageCreated(let message), .messageUpdated(let message), .messageDeleted(let message):
            raw(#","message":"#)
            write(message)
        case .syncDone(let channel, let lastSeq):
            field("channelId", channel.rawValue)
            raw(#","lastSeq":"#)
            integer(lastSeq)
        case .read(let position):
            field("channelId", position.channelId.rawValue)
            field("userId", position.userId.rawValue)
            raw(#","seq":"#)
            integer(position.seq)
        case .typing(let channel, let user):
            field("channelId", channel.rawValue)
            field("userId", user.rawValue)
        case .error(let code, let detail, let clientMessageID):
            field("code", code)
            field("detail", detail)
            if let clientMessageID { field("clientMessageId", clientMessageID.rawValue) }
        case .inboxCreated:
            break
        }
        raw("}")
        return true
    }

    /// `,"name":"value"` (the value escaped).
    private mutating func field(_ name: StaticString, _ value: String) {
        raw(#",""#)
        raw(name)
        raw(#"":"#)
        string(value)
    }

    /// A message object, its absent optionals left out as `WireJSON` does.
    public mutating func write(_ message: Message) {
        raw(#"{"id":"#)
        string(message.id.rawValue)
        raw(#","channelId":"#)
        string(message.channelId.rawValue)
        raw(#","seq":"#)
        integer(message.seq)
        if let sender = message.sender {
            raw(#","sender":"#)
            string(sender.rawValue)
        }
        raw(#","text":"#)
        string(message.text)
        if let data = message.data {
            raw(#","data":"#)
            value(.object(data))
        }
        raw(#","createdAt":"#)
        date(message.createdAt)
        if let editedAt = message.editedAt {
            raw(#","editedAt":"#)
            date(editedAt)
        }
        raw(message.deleted ? #","deleted":true"# : #","deleted":false"#)
        if let erased = message.erased { raw(erased ? #","erased":true"# : #","erased":false"#) }
        if let jws = message.jws {
            raw(#","jws":"#)
            string(jws)
        }
        if let editedBy = message.editedBy {
            raw(#","editedBy":"#)
            string(editedBy.rawValue)
        }
        raw("}")
    }

    /// A `MessagePage` value as the wire's JSON. The server writes its history pages from the rows
    /// instead (`HistoryPageWriter`, `RecentMessages`); this is the value-level form, for callers that
    /// hold `Message`s.
    public mutating func write(_ page: MessagePage) {
        raw(#"{"messages":["#)
        for (index, message) in page.messages.enumerated() {
            if index > 0 { raw(",") }
            write(message)
        }
        raw(page.hasMore ? #"],"hasMore":true}"# : #"],"hasMore":false}"#)
    }

    /// A page of the inbox (`GET /v1/me/inbox`): `JSONEncoder` was a sixth of the server's CPU per
    /// page (issue 20). The same JSON value as `WireJSON`'s (`FrameWriterTests`).
    public mutating func write(_ page: InboxPage) {
        raw(#"{"items":["#)
        for (index, item) in page.items.enumerated() {
            if index > 0 { raw(",") }
            write(item)
        }
        raw("]")
        if let cursor = page.nextCursor {
            raw(#","nextCursor":"#)
            string(cursor)
        }
        raw(#","unreadCount":"#)
        integer(Int64(page.unreadCount))
        raw("}")
    }

    /// An inbox item, its absent optionals left out as `WireJSON` does.
    public mutating func write(_ item: InboxItem) {
        raw(#"{"id":"#)
        string(item.id.rawValue)
        raw(#","notificationId":"#)
        string(item.notificationId.rawValue)
        raw(#","recipient":"#)
        string(item.recipient.rawValue)
        raw(#","category":"#)
        string(item.category.rawValue)
        raw(#","reference":"#)
        string(item.reference)
        raw(#","title":"#)
        string(item.title)
        raw(#","body":"#)
        string(item.body)
        if let data = item.data {
            raw(#","data":"#)
            value(.object(data))
        }
        if let actions = item.actions {
            raw(#","actions":["#)
            for (index, action) in actions.enumerated() {
                if index > 0 { raw(",") }
                raw(#"{"id":"#)
                string(action.id)
                raw(#","label":"#)
                string(action.label)
                raw(action.stepUp ? #","stepUp":true"# : #","stepUp":false"#)
                switch action.input {
                case nil: break
                case .choice(let options)?:
                    raw(#","input":{"type":"choice","options":["#)
                    for (index, option) in options.enumerated() {
                        if index > 0 { raw(",") }
                        string(option)
                    }
                    raw("]}")
                case .rating?:
                    raw(#","input":{"type":"rating"}"#)
                case .text(let maxLength)?:
                    raw(#","input":{"type":"text","maxLength":"#)
                    integer(Int64(maxLength))
                    raw("}")
                }
                raw("}")
            }
            raw("]")
        }
        raw(#","createdAt":"#)
        date(item.createdAt)
        for (name, time) in [(#","expiresAt":"# as StaticString, item.expiresAt), (#","readAt":"#, item.readAt), (#","archivedAt":"#, item.archivedAt)] {
            guard let time else { continue }
            raw(name)
            date(time)
        }
        if let performed = item.performed {
            raw(#","performed":{"actionId":"#)
            string(performed.actionId)
            if let input = performed.input {
                raw(#","input":"#)
                value(input)
            }
            raw(#","performedAt":"#)
            date(performed.performedAt)
            raw("}")
        }
        raw(#","jws":"#)
        string(item.jws)
        raw("}")
    }

    /// Any JSON value (a message's `data`), in its RFC 8785 form.
    public mutating func value(_ value: JSONValue) {
        CanonicalJSON.write(value, to: &self)
    }

    /// A JSON string (`JSONBytes.appendString`).
    public mutating func string(_ text: String) {
        JSONBytes.appendString(text, to: &bytes)
    }

    public mutating func integer(_ value: Int64) {
        JSONBytes.appendInteger(value, to: &bytes)
    }

    /// `WireTime`'s RFC 3339 form (`2026-11-25T09:06:29.183Z`), written digit by digit from the
    /// milliseconds (no intermediate strings).
    public mutating func date(_ date: Date) {
        self.date(milliseconds: WireTime.milliseconds(date))
    }

    /// `date(_:)` from milliseconds since 1970, as the store keeps times; clamped to some 35,000 years
    /// either side of 1970, so a stored value of any size writes a date and never traps.
    public mutating func date(milliseconds: Int64) {
        let total = min(max(milliseconds, -(1 << 50)), 1 << 50)
        let millis = Int(((total % 1000) + 1000) % 1000)
        let seconds = (total - Int64(millis)) / 1000
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let secondOfDay = Int(seconds - Int64(days) * 86_400)
        let (year, month, day) = WireTime.civil(fromDays: days)
        bytes.append(UInt8(ascii: "\""))
        digits(year, 4)
        bytes.append(UInt8(ascii: "-"))
        digits(month, 2)
        bytes.append(UInt8(ascii: "-"))
        digits(day, 2)
        bytes.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3600, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2)
        bytes.append(UInt8(ascii: "."))
        digits(millis, 3)
        raw("Z\"")
    }

    /// `value` in at least `width` digits, zero-padded (a year beyond 9999 gets its fifth digit).
    private mutating func digits(_ value: Int, _ width: Int) {
        guard value >= 0 else {
            integer(Int64(value))
            return
        }
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        while divisor * 10 <= value { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    /// Bytes that are JSON already (a sealed message's content, `HistoryPageWriter`): copied as they are.
    public mutating func raw(json: some Collection<UInt8>) {
        bytes.append(contentsOf: json)
    }

    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }
}
