public import Foundation
public import HeraldCore

/// A plain-text e-mail as Herald writes it: the headers a mail client needs, the subject in RFC 2047
/// when it is not ASCII, the body in base64 (so no line of it is long, starts with a dot, or carries
/// anything a server could read as a command).
public struct SMTPMessage: Equatable, Sendable {
    public var from: EmailAddress
    public var fromName: String?
    public var to: EmailAddress
    public var subject: String
    public var text: String
    public var date: Date
    /// `<random@from's domain>`.
    public var messageID: String

    public init(from: EmailAddress, fromName: String?, to: EmailAddress, subject: String, text: String, date: Date, messageID: String? = nil) {
        self.from = from
        self.fromName = fromName
        self.to = to
        self.subject = subject
        self.text = text
        self.date = date
        self.messageID = messageID ?? "<\(RandomToken.base32(byteCount: 16))@\(from.domain)>"
    }

    /// The message's bytes for `DATA`, lines ended by CRLF, without the final `.` line.
    public var data: String {
        var lines: [String] = []
        lines.append("From: " + (fromName.map { "\(Self.displayName($0)) <\(from.text)>" } ?? "<\(from.text)>"))
        lines.append("To: <\(to.text)>")
        lines.append("Subject: " + Self.encodedWord(subject))
        lines.append("Date: " + Self.rfc5322Date(date))
        lines.append("Message-ID: " + messageID)
        lines.append("MIME-Version: 1.0")
        lines.append("Content-Type: text/plain; charset=utf-8")
        lines.append("Content-Transfer-Encoding: base64")
        lines.append("")
        let encoded = Data(text.utf8).base64EncodedString()
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[index..<end]))
            index = end
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// Printable ASCII as it is (a quoted string for a display name is not needed: quotes are refused
    /// in names); anything else as `=?utf-8?B?…?=`. Control characters never get through either way.
    static func encodedWord(_ text: String) -> String {
        let cleaned = String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.properties.generalCategory != .control }))
        if cleaned.unicodeScalars.allSatisfy({ (0x20...0x7E).contains($0.value) }), !cleaned.contains("=?") { return cleaned }
        return "=?utf-8?B?\(Data(cleaned.utf8).base64EncodedString())?="
    }

    /// A display name: quoted when ASCII (names with quotes or backslashes are refused when stored,
    /// `FallbackText.isPlainName`), an encoded word otherwise, so no character in it reads as an address.
    static func displayName(_ name: String) -> String {
        let word = encodedWord(name.replacingOccurrences(of: "\"", with: "").replacingOccurrences(of: "\\", with: ""))
        return word.hasPrefix("=?") ? word : "\"\(word)\""
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}
