/// A reply of an SMTP server (RFC 5321 §4.2): a three-digit code and one or more lines of text,
/// every line but the last written `250-…`, the last `250 …`.
public struct SMTPReply: Equatable, Sendable {
    public var code: Int
    public var lines: [String]

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
    }

    public var isPositive: Bool { (200..<400).contains(code) }

    /// Reads replies from the bytes a server sends, in whatever pieces they arrive: complete replies
    /// come out, a partial one waits for more. A server that breaks the form (a line that does not
    /// start with three digits and a space or hyphen, codes that change within a reply, a line past
    /// `maxLineBytes` or a reply past `maxLines`) is an error: the conversation ends there.
    public struct Reader: Sendable {
        public static let maxLineBytes = 2_048
        public static let maxLines = 64

        public enum Failure: Error, Equatable, CustomStringConvertible {
            case malformedLine
            case lineTooLong
            case tooManyLines

            public var description: String {
                switch self {
                case .malformedLine: "the SMTP server sent a line that is not a reply"
                case .lineTooLong: "the SMTP server sent a line longer than \(Reader.maxLineBytes) bytes"
                case .tooManyLines: "the SMTP server sent a reply of more than \(Reader.maxLines) lines"
                }
            }
        }

        private var pending: [UInt8] = []
        private var code: Int?
        private var lines: [String] = []

        public init() {}

        /// Whether no part of a line or reply waits for more bytes.
        public var isEmpty: Bool { pending.isEmpty && lines.isEmpty }

        /// Adds received bytes; returns every reply they complete, in order.
        public mutating func read(_ bytes: some Sequence<UInt8>) throws(Failure) -> [SMTPReply] {
            pending.append(contentsOf: bytes)
            var replies: [SMTPReply] = []
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                if let reply = try take(line) { replies.append(reply) }
            }
            guard pending.count <= Self.maxLineBytes else { throw .lineTooLong }
            return replies
        }

        private mutating func take(_ line: [UInt8]) throws(Failure) -> SMTPReply? {
            guard line.count <= Self.maxLineBytes else { throw .lineTooLong }
            guard line.count >= 3, line[0..<3].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                (UInt8(ascii: "2")...UInt8(ascii: "5")).contains(line[0])
            else { throw .malformedLine }
            let lineCode = line[0..<3].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            let separator = line.count > 3 ? line[3] : UInt8(ascii: " ")
            guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else { throw .malformedLine }
            if let code, code != lineCode { throw .malformedLine }
            code = lineCode
            lines.append(String(decoding: line.dropFirst(4), as: UTF8.self))
            guard lines.count <= Self.maxLines else { throw .tooManyLines }
            guard separator == UInt8(ascii: " ") else { return nil }
            let reply = SMTPReply(code: lineCode, lines: lines)
            code = nil
            lines = []
            return reply
        }
    }
}
