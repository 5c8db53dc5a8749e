import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// One direct connection, at start-up, before any pool: so that a database Herald cannot use is
/// reported within seconds, in one sentence that names the cause and the fix.
///
/// PostgresNIO's pool retries a failing connection for about a minute and then reports
/// `connectionCreationCircuitBreakerTripped`, which names neither; PostgreSQL's own reason (a missing
/// database, a refused password) is only in the server's log. A single connection gets the server's
/// error as it is.
public enum PostgresProbe {
    /// Why Herald cannot use a database, said as the operator needs it.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Connects to `url` and closes again.
    /// - Parameters:
    ///   - role: what the database is for, in the sentence ("the content database", "the key database").
    ///   - fixForMissing: what to do when the database does not exist, if not the default `CREATE DATABASE`.
    /// - Throws: `Failure` within about `timeout` (twice, at most: connecting, then the handshake).
    public static func check(_ url: PostgresURL, role: String, fixForMissing: String? = nil, timeout: Duration = .seconds(5)) async throws {
        let tls: PostgresConnection.Configuration.TLS
        do {
            tls =
                switch url.tls {
                case .disable: .disable
                case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
                case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
                }
        } catch {
            throw Failure(description: "cannot set up TLS for \(role) (\(error)): check the system's trusted certificates")
        }
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: tls)
        configuration.options.connectTimeout = .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        let prepared = configuration
        let outcome = await withTaskGroup(of: Result<Void, any Error>?.self) { group in
            group.addTask {
                do {
                    let connection = try await PostgresConnection.connect(
                        configuration: prepared, id: 0, logger: Logger(label: "herald.postgres.probe", factory: { _ in SwiftLogNoOpLogHandler() }))
                    try? await connection.close()
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout * 2)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        switch outcome {
        case .success?: return
        case .failure(let error)?: throw Failure(description: describe(error, url: url, role: role, fixForMissing: fixForMissing))
        case nil:
            throw Failure(
                description:
                    "\(url.host):\(url.port) accepted a connection for \(role) but did not answer as PostgreSQL within \(timeout * 2): check that this is PostgreSQL's host and port")
        }
    }

    /// The sentence for a failed connection (the password is never repeated).
    static func describe(_ error: any Error, url: PostgresURL, role: String, fixForMissing: String?) -> String {
        let place = "\(url.host):\(url.port)"
        guard let error = error as? PSQLError else { return "cannot connect to \(role) at \(place) (\(error)): check the database URL" }
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            let message = error.serverInfo?[.message] ?? "no message"
            switch state {
            case "3D000":
                return "\(role) \(url.database) does not exist on \(place): "
                    + (fixForMissing ?? "create it (CREATE DATABASE \(url.database) OWNER \(url.username);) or correct the name in the URL")
            case "28P01":
                return "PostgreSQL at \(place) refused the password of user \(url.username): correct the password in the database URL"
            case "28000" where message.contains("does not exist"):
                return "PostgreSQL at \(place) has no user \(url.username) (\(message)): create it (CREATE ROLE \(url.username) LOGIN PASSWORD '...';) or correct the user in the URL"
            case "28000":
                return "PostgreSQL at \(place) does not let user \(url.username) connect to \(url.database) from this host (\(message)): add a pg_hba.conf entry for it and reload, or use another user"
            case "42501":
                return "user \(url.username) may not connect to \(url.database) on \(place) (\(message)): GRANT CONNECT ON DATABASE \(url.database) TO \(url.username);"
            case "53300":
                return "PostgreSQL at \(place) has no connection slot left (\(message)): raise max_connections or lower --database-connections on the nodes"
            case "57P03":
                return "PostgreSQL at \(place) is starting up or shutting down: start Herald again once it accepts connections"
            default:
                return "PostgreSQL at \(place) refused the connection to \(role): \(message) (SQLSTATE \(state))"
            }
        case .sslUnsupported:
            return "PostgreSQL at \(place) does not offer TLS, which the URL requires: turn on ssl in postgresql.conf, or add ?sslmode=disable if the network to it is trusted"
        case .authMechanismRequiresPassword:
            return "PostgreSQL at \(place) asks user \(url.username) for a password and the URL has none: add it (postgres://\(url.username):PASSWORD@\(place)/\(url.database))"
        case .unsupportedAuthMechanism:
            return "PostgreSQL at \(place) asks for an authentication method Herald does not support: use scram-sha-256 or md5 for user \(url.username) in pg_hba.conf"
        case .connectionError, .failedToAddSSLHandler, .serverClosedConnection, .uncleanShutdown:
            return describeTransport(error.underlying, place: place, host: url.host, role: role)
        default:
            return "cannot connect to \(role) at \(place) (\(error.code)): check the database URL and the server's log"
        }
    }

    private static func describeTransport(_ underlying: (any Error)?, place: String, host: String, role: String) -> String {
        switch underlying {
        case let error as IOError where error.errnoCode == ECONNREFUSED:
            return "nothing accepts connections at \(place) for \(role): start PostgreSQL there, or correct the host and port in the URL"
        case let error as IOError where [ENETUNREACH, EHOSTUNREACH].contains(error.errnoCode):
            return "\(place) cannot be reached from this machine (\(error)): check the host in the URL and the network"
        case let error as ChannelError where error == .connectTimeout(.zero) || "\(error)".contains("connectTimeout"):
            return "\(place) did not answer within the connection timeout: check the host and port in the URL, and any firewall between"
        case let error as NIOConnectionError:
            if error.dnsAError != nil || error.dnsAAAAError != nil, error.connectionErrors.isEmpty {
                return "the host name \(host) cannot be resolved: correct it in the database URL"
            }
            if let first = error.connectionErrors.first?.error { return describeTransport(first, place: place, host: host, role: role) }
            return "cannot connect to \(role) at \(place) (\(error)): check the host and port in the URL"
        case let error as NIOSSLError:
            return "the TLS handshake with \(place) failed (\(error)): give the server a certificate this machine trusts for \(host), or correct the host"
        case let error as BoringSSLError:
            return "the TLS handshake with \(place) failed (\(error)): give the server a certificate this machine trusts for \(host), or correct the host"
        case let error?:
            if "\(error)".contains("connectTimeout") {
                return "\(place) did not answer within the connection timeout: check the host and port in the URL, and any firewall between"
            }
            return "cannot connect to \(role) at \(place) (\(error)): check the host and port in the URL"
        case nil:
            return "\(place) closed the connection for \(role) before PostgreSQL's handshake: check that this is PostgreSQL's host and port, and that nothing between drops the connection"
        }
    }
}
