public import Foundation

/// The JSON coders of the wire format: RFC 3339 UTC timestamps with milliseconds, `null` fields
/// left out. Server and client SDK use the same ones so that both read what the other writes.
public enum WireJSON {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(WireTime.format(date))
        }
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = WireTime.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 timestamp")
            }
            return date
        }
        return decoder
    }
}

/// RFC 3339 timestamps in UTC with millisecond precision (`2026-11-25T09:06:29.183Z`).
///
/// Herald keeps every time it stores as whole milliseconds (`truncated`, `milliseconds`), and formats
/// from that integer, so a time read back from the wire or the store equals the one written.
public enum WireTime {
    /// `date` truncated to whole milliseconds. The microsecond of slack keeps a date that already is a
    /// whole millisecond (but is stored as ….99999 in binary floating point) on its millisecond.
    public static func truncated(_ date: Date) -> Date {
        Self.date(milliseconds: Int64((date.timeIntervalSince1970 * 1000 + 0.001).rounded(.down)))
    }

    /// The whole milliseconds since 1970 of a (truncated) date, within the years RFC 3339 can write
    /// (0000–9999): a time outside them (none that Herald makes; one that someone who can write the
    /// database put there) is the nearest of those bounds, never a trap in the conversion or in the
    /// calendar arithmetic of `format` and `FrameWriter.date`.
    public static func milliseconds(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1000).rounded()
        guard !value.isNaN else { return earliestMilliseconds }
        return Int64(min(max(value, Double(earliestMilliseconds)), Double(latestMilliseconds)))
    }

    /// 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z.
    public static let earliestMilliseconds: Int64 = -62_167_219_200_000
    public static let latestMilliseconds: Int64 = 253_402_300_799_999

    public static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    public static func format(_ date: Date) -> String {
        let total = milliseconds(date)
        let millis = Int(((total % 1000) + 1000) % 1000)
        let seconds = (total - Int64(millis)) / 1000
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let secondOfDay = Int(seconds - Int64(days) * 86_400)
        let (year, month, day) = civil(fromDays: days)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):"
            + "\(pad(secondOfDay % 60, 2)).\(pad(millis, 3))Z"
    }

    /// Parses RFC 3339 with or without fractional seconds and with any offset; nil when malformed.
    public static func parse(_ text: String) -> Date? {
        // Rounded, not truncated: "….183Z" may parse to ….18299999 s, which is still millisecond 183.
        guard let date = (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)) ?? (try? Date.ISO8601FormatStyle().parse(text))
        else { return nil }
        return Self.date(milliseconds: milliseconds(date))
    }

    /// Year, month, day of a count of days since 1970-01-01 (H. Hinnant's `civil_from_days`).
    static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
