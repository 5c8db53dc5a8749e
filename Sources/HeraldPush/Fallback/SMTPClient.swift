public import Foundation
public import HeraldCore
import NIOCore
import NIOPosix
public import NIOSSL

/// Submits one message to an SMTP server (RFC 6409) over SwiftNIO: `EHLO`, `STARTTLS` (required: a
/// server that does not offer it is refused, and nothing is authenticated or sent in clear), `EHLO`
/// again, `AUTH PLAIN`, `MAIL FROM`, `RCPT TO`, `DATA`, `QUIT`. Written here because no maintained
/// Swift SMTP library builds on this machine; the replies are read by `SMTPReply.Reader`.
///
/// Bytes the server sends between its `220` to `STARTTLS` and the handshake (the STARTTLS command
/// injection of CVE-2011-0411 and its kin) end the conversation: nothing read in clear is carried
/// into the encrypted session (`StartTLSGuard`). The host is resolved once, checked by the SSRF guard,
/// and the connection made to the address checked (no second resolution a rebinding name could turn
/// elsewhere). The whole conversation is bounded by `timeout`.
public struct SMTPClient: Sendable {
    let tls: TLSConfiguration
    let targets: OutboundTargetGuard
    /// The name Herald gives in `EHLO`.
    let clientName: String
    let timeout: TimeAmount

    /// - Parameter timeoutSeconds: the bound on one whole conversation.
    public init(allowsPrivateTargets: Bool, extraCAFile: String? = nil, clientName: String = "herald.invalid", timeoutSeconds: Int64 = 30) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let extraCAFile { tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(extraCAFile))] }
        self.tls = tls
        targets = OutboundTargetGuard(allowsPrivateTargets: allowsPrivateTargets)
        self.clientName = clientName
        timeout = .seconds(timeoutSeconds)
    }

    struct Refusal: Error {
        var attempt: FallbackAttempt
    }

    public func send(_ message: SMTPMessage, with credentials: EmailCredentials) async -> FallbackAttempt {
        let address: SocketAddress
        do {
            let checked = try await targets.addresses(of: credentials.host)
            address = try SocketAddress(ipAddress: checked[0], port: credentials.port)
        } catch let refused as OutboundTargetGuard.Refused {
            return .failed(status: nil, reason: refused.description)
        } catch {
            return .retry(status: nil, reason: "\(credentials.host) could not be resolved")
        }
        // The certificate is checked against the name the bank gave (or the address, when it gave one).
        let serverName = TargetPolicy.isPublic(credentials.host) == nil ? credentials.host : nil
        let tls = tls
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
                .connect(to: address) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            StartTLSGuard(makeTLS: { try NIOSSLClientHandler(context: NIOSSLContext(configuration: tls), serverHostname: serverName) }))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            // The deadline closes the connection, which ends any read or write still waiting.
            let deadline = channel.channel.eventLoop.scheduleTask(in: timeout) { channel.channel.close(promise: nil) }
            defer { deadline.cancel() }
            return try await channel.executeThenClose { inbound, outbound in
                var conversation = Conversation(inbound: inbound.makeAsyncIterator(), outbound: outbound)
                return try await converse(&conversation, message: message, credentials: credentials)
            }
        } catch let refusal as Refusal {
            return refusal.attempt
        } catch {
            // One reason for every way a connection fails, so the log cannot map a tenant's network.
            return .retry(status: nil, reason: "the SMTP conversation broke off")
        }
    }

    private func converse(_ conversation: inout Conversation, message: SMTPMessage, credentials: EmailCredentials) async throws -> FallbackAttempt {
        try await conversation.expect(220, after: nil)
        let greeting = try await conversation.expect(250, after: "EHLO \(clientName)")
        guard greeting.lines.dropFirst().contains(where: { $0.uppercased() == "STARTTLS" }) else {
            throw Refusal(attempt: .failed(status: nil, reason: "the SMTP server does not offer STARTTLS"))
        }
        // `StartTLSGuard` put TLS in place as this reply came in, or closed the connection.
        try await conversation.expect(220, after: "STARTTLS")
        guard conversation.isDrained else { throw Refusal(attempt: .failed(status: nil, reason: "the SMTP server sent data before the TLS handshake")) }
        let secured = try await conversation.expect(250, after: "EHLO \(clientName)")
        guard secured.lines.dropFirst().contains(where: { $0.uppercased().hasPrefix("AUTH") && $0.uppercased().contains("PLAIN") }) else {
            throw Refusal(attempt: .failed(status: nil, reason: "the SMTP server does not offer AUTH PLAIN"))
        }
        let plain = Data("\u{0}\(credentials.username)\u{0}\(credentials.password)".utf8).base64EncodedString()
        try await conversation.expect(235, after: "AUTH PLAIN \(plain)", redacted: "AUTH PLAIN")
        try await conversation.expect(250, after: "MAIL FROM:<\(credentials.from.text)>")
        try await conversation.expect([250, 251], after: "RCPT TO:<\(message.to.text)>")
        try await conversation.expect(354, after: "DATA")
        let accepted = try await conversation.expect(250, after: message.data + ".")
        try? await conversation.send("QUIT")
        return .sent(status: accepted.code)
    }

    /// The two directions of one connection, and the replies read so far.
    struct Conversation {
        var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        var reader = SMTPReply.Reader()
        var replies: [SMTPReply] = []

        /// Whether nothing was received past the last reply.
        var isDrained: Bool { replies.isEmpty && reader.isEmpty }

        mutating func send(_ line: String) async throws {
            try await outbound.write(ByteBuffer(string: line + "\r\n"))
        }

        /// Sends `command` (if any) and reads the reply, which must have one of `codes`: a 4xx reply
        /// is worth trying again later, a 5xx is a refusal (both end the conversation).
        @discardableResult
        mutating func expect(_ codes: [Int], after command: String?, redacted: String? = nil) async throws -> SMTPReply {
            if let command { try await send(command) }
            let reply = try await next()
            guard codes.contains(reply.code) else {
                let what = redacted ?? command?.split(separator: " ").first.map(String.init) ?? "the greeting"
                let reason = "the SMTP server answered \(reply.code) to \(what)"
                throw Refusal(attempt: (400..<500).contains(reply.code) ? .retry(status: reply.code, reason: reason) : .failed(status: reply.code, reason: reason))
            }
            return reply
        }

        @discardableResult
        mutating func expect(_ code: Int, after command: String?, redacted: String? = nil) async throws -> SMTPReply {
            try await expect([code], after: command, redacted: redacted)
        }

        private mutating func next() async throws -> SMTPReply {
            while replies.isEmpty {
                guard let buffer = try await inbound.next() else { throw Refusal(attempt: .retry(status: nil, reason: "the SMTP server closed the connection")) }
                do {
                    replies = try reader.read(buffer.readableBytesView)
                } catch {
                    throw Refusal(attempt: .failed(status: nil, reason: "the SMTP server did not answer as one"))
                }
            }
            return replies.removeFirst()
        }
    }
}
