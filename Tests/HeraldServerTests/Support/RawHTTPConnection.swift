import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A bare TCP connection to the test server, for what an HTTP client library will not do: send a
/// request's headers and then only part of its body, as a slow-body attacker does; open a WebSocket and
/// then never read from it, or reset the connection in the middle of a reply.
final class RawHTTPConnection: @unchecked Sendable {
    private var descriptor: Int32
    private(set) var lastHead = ""

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        // A read never waits more than a minute: a test then fails on what it got, it does not hang.
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
    }

    /// The status line's code of the first response, read as it arrives (nil when the connection ends first).
    func status() -> Int? {
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !received.contains(UInt8(ascii: "\n")) {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { return nil }
            received.append(contentsOf: buffer[0..<count])
        }
        let line = String(decoding: received, as: UTF8.self).split(separator: "\r\n").first ?? ""
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }

    /// Waits for the server to close the connection: true when it did (end of stream), false when
    /// the read timed out or failed otherwise. Whatever arrives first is read and dropped.
    func waitForClose() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count == 0 { return true }
            if count < 0 { return false }
        }
    }

    /// Upgrades to a WebSocket on `/v1/realtime` with the token in the header; true on 101.
    func upgradeToWebSocket(token: String) -> Bool {
        send(
            "GET /v1/realtime HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer \(token)\r\n\r\n")
        return status() == 101
    }

    /// Sends one masked text frame (RFC 6455 5.2: a client's frames are masked).
    func sendWebSocketText(_ text: String) {
        sendWebSocketFrame(opcode: 0x1, payload: Array(text.utf8))
    }

    /// Sends one masked frame (the last of its message unless `fin` is false).
    func sendWebSocketFrame(opcode: UInt8, payload: [UInt8], fin: Bool = true) {
        let frame = Self.webSocketFrame(opcode: opcode, payload: payload, fin: fin)
        _ = frame.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, frame.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Sends many text frames in one write (so the server reads them in one go).
    func sendWebSocketTexts(_ texts: [String]) {
        let bytes = texts.flatMap { Self.webSocketFrame(opcode: 0x1, payload: Array($0.utf8), fin: true) }
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
    }

    /// One masked client frame's bytes.
    static func webSocketFrame(opcode: UInt8, payload: [UInt8], fin: Bool) -> [UInt8] {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        switch payload.count {
        case ..<126: frame.append(0x80 | UInt8(payload.count))
        case ..<65_536: frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: frame += [0x80 | 127] + (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
        }
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return frame
    }

    /// The next frame from the server (unmasked, as a server sends): its opcode and payload; nil when
    /// the connection ends first.
    func readWebSocketFrame() -> (opcode: UInt8, payload: [UInt8])? {
        guard let head = read(exactly: 2) else { return nil }
        var length = Int(head[1] & 0x7F)
        if length == 126 {
            guard let extended = read(exactly: 2) else { return nil }
            length = Int(extended[0]) << 8 | Int(extended[1])
        } else if length == 127 {
            guard let extended = read(exactly: 8) else { return nil }
            length = extended.reduce(0) { $0 << 8 | Int($1) }
        }
        guard let payload = read(exactly: length) else { return nil }
        return (head[0] & 0x0F, payload)
    }

    /// The close code of the first close frame from the server, skipping other frames.
    func webSocketCloseCode() -> Int? {
        while let frame = readWebSocketFrame() {
            if frame.opcode == 0x8 { return frame.payload.count >= 2 ? Int(frame.payload[0]) << 8 | Int(frame.payload[1]) : nil }
        }
        return nil
    }

    /// The whole response to a request answered with `Connection: close`: status, head and body.
    func response() -> (status: Int?, head: String, body: String) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            received += buffer[0..<count]
        }
        let text = String(decoding: received, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let head = parts.first ?? ""
        let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        return (status, head, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    /// A WebSocket upgrade request (for `/v1/realtime` unless told otherwise), with `token` in the
    /// header when there is one; `key: false` leaves out `Sec-WebSocket-Key` (a malformed handshake).
    static func upgradeRequest(token: String?, method: String = "GET", path: String = "/v1/realtime", key: Bool = true) -> String {
        "\(method) \(path) HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            + (key ? "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" : "") + (token.map { "Authorization: Bearer \($0)\r\n" } ?? "") + "\r\n"
    }

    /// Upgrades to a WebSocket on `/v1/realtime` and reads the 101 response's head to its end; true on 101.
    func upgradeAndReadHead(token: String?) -> Bool {
        send(Self.upgradeRequest(token: token))
        var head: [UInt8] = []
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) {
            guard let byte = read(exactly: 1) else { return false }
            head += byte
        }
        lastHead = String(decoding: head, as: UTF8.self)
        return lastHead.hasPrefix("HTTP/1.1 101")
    }

    private func read(exactly count: Int) -> [UInt8]? {
        guard count > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let received = bytes.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress! + filled, count - filled, 0) }
            guard received > 0 else { return nil }
            filled += received
        }
        return bytes
    }

    /// Bytes received and not read yet (the kernel's receive queue).
    func bytesWaiting() -> Int {
        var count: Int32 = 0
        _ = ioctl(descriptor, UInt(FIONREAD), &count)
        return Int(count)
    }

    /// Ends the connection with a TCP reset (SO_LINGER 0), as a client that vanishes mid-reply does.
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(descriptor)
        descriptor = -1
    }
}

/// Runs a blocking call (a bare socket's read) on a thread of its own, not on the cooperative pool.
func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}
