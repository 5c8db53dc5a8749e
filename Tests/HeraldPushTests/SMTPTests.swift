import Foundation
import HeraldCore
@testable import HeraldPush
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOSSL
import PropertyBased
import Testing

/// The hand-written parts of the SMTP client: its reader of replies (outside input) and the message it writes.
@Suite("SMTP replies and messages")
struct SMTPTests {
    @Test("Multi-line replies come out whole, in whatever pieces they arrive")
    func multiLine() throws {
        var reader = SMTPReply.Reader()
        let bytes = Array("250-mail.example\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n354 go ahead\r\n".utf8)
        var replies: [SMTPReply] = []
        for byte in bytes { replies += try reader.read([byte]) }
        #expect(replies == [SMTPReply(code: 250, lines: ["mail.example", "STARTTLS", "AUTH PLAIN LOGIN"]), SMTPReply(code: 354, lines: ["go ahead"])])
        #expect(reader.isEmpty)
    }

    @Test("What is not a reply ends the conversation", arguments: [
        "hello\r\n", "25\r\n", "250x\r\n", "250-a\r\n251 b\r\n", "650 nope\r\n", "abc def\r\n",
    ])
    func malformed(text: String) {
        var reader = SMTPReply.Reader()
        #expect(throws: SMTPReply.Reader.Failure.self) { _ = try reader.read(Array(text.utf8)) }
    }

    @Test("A line or a reply without end is bounded")
    func bounded() {
        var reader = SMTPReply.Reader()
        #expect(throws: SMTPReply.Reader.Failure.lineTooLong) { _ = try reader.read(Array(repeating: UInt8(ascii: "2"), count: 3_000)) }
        var many = SMTPReply.Reader()
        #expect(throws: SMTPReply.Reader.Failure.tooManyLines) { _ = try many.read(Array(String(repeating: "250-x\r\n", count: 65).utf8)) }
    }

    @Test("Any bytes, cut anywhere: the same replies (or the same failure) as read at once, and never a trap")
    func anyBytes() async {
        let pieces = ["250", "-", " ", "220", "5", "x", "\r\n", "\n", "\r", "STARTTLS", "ü", "\u{0}"]
        await propertyCheck(count: 3_000, input: Gen.int(in: 0...(pieces.count - 1)).array(of: 0...40), Gen.int(in: 1...7)) { indices, cut in
            let bytes = Array(indices.map { pieces[$0] }.joined().utf8)
            var whole = SMTPReply.Reader()
            let expected = Result { () throws(SMTPReply.Reader.Failure) in try whole.read(bytes) }
            var pieces = SMTPReply.Reader()
            var replies: [SMTPReply] = []
            var failure: SMTPReply.Reader.Failure?
            for start in stride(from: 0, to: bytes.count, by: cut) where failure == nil {
                do { replies += try pieces.read(bytes[start..<min(start + cut, bytes.count)]) } catch let error as SMTPReply.Reader.Failure { failure = error } catch {}
            }
            switch expected {
            case .success(let all): #expect(failure == nil && replies == all)
            case .failure(let error): #expect(failure == error)
            }
        }
    }

    @Test("The message: headers a client needs, a non-ASCII subject encoded, the body in base64 lines, nothing that breaks a header")
    func message() throws {
        let message = SMTPMessage(
            from: try #require(EmailAddress("notices@acme.example")), fromName: "Acme Bank", to: try #require(EmailAddress("ana@example.com")),
            subject: "Eine sichere Nachricht für Sie\r\nBcc: eve@evil.example", text: String(repeating: "Nachricht. ", count: 20),
            date: Date(timeIntervalSince1970: 1_800_000_000), messageID: "<m1@acme.example>")
        let data = message.data
        let lines = data.components(separatedBy: "\r\n")
        #expect(lines.contains("From: \"Acme Bank\" <notices@acme.example>"))
        #expect(lines.contains("To: <ana@example.com>"))
        #expect(lines.contains("Date: Fri, 15 Jan 2027 08:00:00 +0000"))
        #expect(!data.contains("Bcc:"), "a line break in the subject never starts a header")
        let subject = try #require(lines.first { $0.hasPrefix("Subject: ") })
        #expect(subject.hasPrefix("Subject: =?utf-8?B?"))
        #expect(lines.allSatisfy { $0.utf8.count <= 998 && !$0.hasPrefix(".") }, "RFC 5322's line limit")
        #expect(lines.drop { !$0.isEmpty }.allSatisfy { $0.utf8.count <= 76 }, "the body's base64 lines")
        let body = lines.drop { !$0.isEmpty }.joined()
        #expect(Data(base64Encoded: body).map { String(decoding: $0, as: UTF8.self) } == message.text)
    }
}

/// The STARTTLS turn, on an embedded channel: TLS goes in front exactly when the server's `220` is the
/// last byte received; anything after it closes the connection.
@Suite("STARTTLS guard")
struct StartTLSGuardTests {
    private func channel() throws -> (EmbeddedChannel, () -> Int) {
        let made = NIOLockedValueBox(0)
        let guardHandler = StartTLSGuard(makeTLS: {
            made.withLockedValue { $0 += 1 }
            return try NIOSSLClientHandler(context: NIOSSLContext(configuration: .makeClientConfiguration()), serverHostname: "mail.example")
        })
        let channel = EmbeddedChannel(handler: guardHandler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 25)).wait()
        return (channel, { made.withLockedValue { $0 } })
    }

    @Test("Plain replies pass; after STARTTLS, a 220 alone puts TLS in front and is passed on")
    func readyAlone() throws {
        let (channel, made) = try channel()
        try channel.writeInbound(ByteBuffer(string: "220 mail.example ESMTP\r\n"))
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "220 mail.example ESMTP\r\n"))
        try channel.writeOutbound(ByteBuffer(string: "STARTTLS\r\n"))
        try channel.writeInbound(ByteBuffer(string: "220 2.0"))
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil, "held until the reply is whole")
        try channel.writeInbound(ByteBuffer(string: ".0 ready\r\n"))
        #expect(made() == 1)
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "220 2.0.0 ready\r\n"))
        #expect(channel.isActive)
        _ = try? channel.finish()
    }

    @Test("Bytes after the 220 (an injected reply) close the connection, and nothing goes on")
    func injection() throws {
        let (channel, made) = try channel()
        try channel.writeOutbound(ByteBuffer(string: "STARTTLS\r\n"))
        #expect(throws: StartTLSGuard.InjectedBytes.self) { try channel.writeInbound(ByteBuffer(string: "220 ready\r\n250-AUTH PLAIN\r\n235 ok\r\n")) }
        #expect(made() == 0)
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        #expect(!channel.isActive)
    }

    @Test("A refusal of STARTTLS goes on in clear, for the conversation to refuse")
    func refusal() throws {
        let (channel, made) = try channel()
        try channel.writeOutbound(ByteBuffer(string: "STARTTLS\r\n"))
        try channel.writeInbound(ByteBuffer(string: "454 TLS not available\r\n"))
        #expect(made() == 0)
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "454 TLS not available\r\n"))
        _ = try? channel.finish()
    }
}
