import Foundation

/// The round trip of one byte over TCP on 127.0.0.1 (Nagle off, a thread echoing), measured before the
/// scenario: no WebSocket round trip on this machine can beat it, so every result states it.
enum LoopbackProbe {
    /// The median of `samples` round trips, in milliseconds; nil when a socket call fails.
    static func measure(samples: Int = 2_000) -> Double? {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { return nil }
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard listening else { return nil }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard client >= 0 else { return nil }
        defer { close(client) }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) == 0 }
        }
        let server = accept(listener, nil, nil)
        guard connected, server >= 0 else { return nil }
        var on: Int32 = 1
        for descriptor in [client, server] { setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size)) }
        let echo = Thread {
            var byte: UInt8 = 0
            while read(server, &byte, 1) == 1, write(server, &byte, 1) == 1 {}
            close(server)
        }
        echo.start()
        var byte: UInt8 = 1
        var durations: [Double] = []
        durations.reserveCapacity(samples)
        for _ in 0..<samples {
            let start = ContinuousClock.now
            guard write(client, &byte, 1) == 1, read(client, &byte, 1) == 1 else { return nil }
            durations.append((ContinuousClock.now - start).milliseconds)
        }
        shutdown(client, Int32(SHUT_RDWR))
        return durations.sorted()[samples / 2]
    }
}
