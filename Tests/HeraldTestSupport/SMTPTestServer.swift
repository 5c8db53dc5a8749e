public import Foundation
import Synchronization

/// A real SMTP submission server (`scripts/smtp-test-server.py`, on aiosmtpd) for the length of a test:
/// STARTTLS required, one account, every accepted message kept with whether TLS and authentication
/// were in force.
public final class SMTPTestServer: Sendable {
    public struct Message: Decodable, Sendable {
        public var from: String
        public var to: [String]
        /// The message as received (headers and body, CRLF lines).
        public var data: String
        public var tls: Bool
        public var authenticated: Bool

        /// The body, decoded from the base64 Herald sends it in.
        public var text: String? {
            guard let split = data.range(of: "\r\n\r\n") else { return nil }
            let encoded = data[split.upperBound...].components(separatedBy: .whitespacesAndNewlines).joined()
            return Data(base64Encoded: encoded).map { String(decoding: $0, as: UTF8.self) }
        }

        /// The value of a header (the first with that name).
        public func header(_ name: String) -> String? {
            let head = data.components(separatedBy: "\r\n\r\n").first ?? ""
            return head.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix(name.lowercased() + ": ") }
                .map { String($0.dropFirst(name.count + 2)) }
        }
    }

    public struct Failed: Error, CustomStringConvertible {
        public var description: String
    }

    public let port: Int
    public let user = "herald"
    public let password = "submission-secret"
    private let process: Process
    private let input: Pipe
    private let out: URL

    /// Starts the server with `certificateFile` and `keyFile` (PEM; the tests' `TestCertificates`).
    /// - Parameter reply: what it answers to `DATA` (`"250 OK"`, or a refusal to test one).
    public init(certificateFile: String, keyFile: String, directory: URL, reply: String = "250 OK") throws {
        out = directory.appendingPathComponent("smtp-\(UUID().uuidString).jsonl")
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/smtp-test-server.py").path
        process.arguments = [
            "python3", script, "--cert", certificateFile, "--key", keyFile, "--user", user, "--password", password, "--out", out.path, "--reply", reply,
        ]
        input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        guard let line = Self.firstLine(of: output.fileHandleForReading), line.hasPrefix("listening "), let port = Int(line.dropFirst("listening ".count))
        else {
            process.terminate()
            throw Failed(description: "scripts/smtp-test-server.py did not start (is aiosmtpd installed? python3 -m pip install aiosmtpd)")
        }
        self.port = port
    }

    private static func firstLine(of handle: FileHandle) -> String? {
        var bytes: [UInt8] = []
        while true {
            let chunk = handle.readData(ofLength: 1)
            guard let byte = chunk.first else { return nil }
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
    }

    /// The messages accepted so far, in order.
    public var messages: [Message] {
        guard let text = try? String(contentsOf: out, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Message.self, from: Data($0.utf8)) }
    }

    public func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
