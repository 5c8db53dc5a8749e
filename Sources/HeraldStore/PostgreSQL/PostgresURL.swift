public import Foundation

/// A `postgres://user:password@host:port/database?sslmode=MODE` address, as `--database` takes it.
///
/// `sslmode` is `disable`, `prefer` (TLS when the server offers it) or `require` (TLS or no connection;
/// the server's certificate is verified against the system's roots, which is libpq's `verify-full`, also
/// accepted by that name). Without `sslmode`, a loopback host gets `prefer` and any other `require`, so a
/// network attacker cannot downgrade a node's connection to plain text.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable {
        case disable
        case prefer
        case require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// - Throws: `Invalid` naming what is wrong (the password is never repeated).
    public init(_ text: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw Invalid(description: "a database URL looks like postgres://user:password@host:5432/database")
        }
        guard let host = components.host, !host.isEmpty else { throw Invalid(description: "the database URL names no host") }
        guard let user = components.user, !user.isEmpty else { throw Invalid(description: "the database URL names no user") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw Invalid(description: "the database URL names no database (…/NAME)") }
        self.host = host
        self.port = components.port ?? 5432
        self.username = components.percentEncodedUser?.removingPercentEncoding ?? user
        self.password = components.percentEncodedPassword?.removingPercentEncoding
        self.database = database.removingPercentEncoding ?? database
        switch components.queryItems?.first(where: { $0.name == "sslmode" })?.value {
        // Without a word in the URL, a node talks to a database across the network only over TLS: a
        // server that does not offer it (or an attacker in the path who strips it) gets no connection.
        case nil: tls = Self.isLoopback(host) ? .prefer : .require
        case "prefer", "allow": tls = .prefer
        case "disable": tls = .disable
        case "require", "verify-ca", "verify-full": tls = .require
        case let other?: throw Invalid(description: "sslmode \(other) is not one of disable, prefer, require")
        }
    }

    /// Whether `host` is this machine (`localhost`, `127.0.0.0/8`, `::1`), where TLS protects nothing.
    static func isLoopback(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        let isIPv4Loopback = octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
        return bare.lowercased() == "localhost" || bare == "::1" || isIPv4Loopback
    }

    /// The same server and credentials, another database.
    public func with(database: String) -> PostgresURL {
        var copy = self
        copy.database = database
        return copy
    }

    /// The URL without its password, for logs and messages.
    public var description: String {
        "postgres://\(username)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)" + (tls == .prefer ? "" : "?sslmode=\(tls.rawValue)")
    }
}
