public import Foundation
import HeraldCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Refuses outgoing requests (webhooks, Web Push endpoints, provider URLs) to loopback, private,
/// link-local and metadata addresses unless the operator allowed private targets (SSRF).
///
/// The host is resolved and every address checked before each request. The check and the connection
/// resolve separately, so a name that changes its answer in between (DNS rebinding) is not fully
/// excluded; `docs/protocol.md` says so.
public struct OutboundTargetGuard: Sendable {
    public struct Refused: Error, CustomStringConvertible, Equatable {
        public var host: String
        public var description: String { "\(host) resolves to a private, loopback or link-local address (--allow-private-targets allows it)" }
    }

    public struct ResolutionFailed: Error, CustomStringConvertible, Equatable {
        public var host: String
        public var description: String { "\(host) could not be resolved" }
    }

    public let allowsPrivateTargets: Bool

    public init(allowsPrivateTargets: Bool) {
        self.allowsPrivateTargets = allowsPrivateTargets
    }

    /// Throws `Refused` or `ResolutionFailed` unless `url`'s host may be reached.
    public func check(_ url: URL) async throws {
        guard let host = url.host else { throw ResolutionFailed(host: url.absoluteString) }
        try await check(host: host)
    }

    public func check(host: String) async throws {
        guard !allowsPrivateTargets else { return }
        _ = try await addresses(of: host)
    }

    /// The addresses `host` resolves to (itself, for an address), every one checked: connect to one of
    /// these rather than resolving the name again, which a rebinding name could answer differently.
    /// - Throws: `Refused` or `ResolutionFailed`.
    public func addresses(of host: String) async throws -> [String] {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let isPublic = TargetPolicy.isPublic(bare) {
            guard isPublic || allowsPrivateTargets else { throw Refused(host: host) }
            return [bare]
        }
        let addresses = try await NIOThreadPool.singleton.runIfActive { Self.resolve(bare) }
        guard !addresses.isEmpty else { throw ResolutionFailed(host: host) }
        guard allowsPrivateTargets || addresses.allSatisfy({ TargetPolicy.isPublic($0) == true }) else { throw Refused(host: host) }
        return addresses
    }

    /// Every address `host` resolves to (blocking; run off the event loops).
    private static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                addresses.append(String(cString: buffer))
            }
            cursor = info.pointee.ai_next
        }
        return addresses
    }
}
