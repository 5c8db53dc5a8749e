import HeraldStore
import Testing

/// Someone on the network between a node and its database (or between a client and Herald, which
/// `--tls-cert`/`--tls-key` covers, with `SecurityHeadersTests`): they read nothing and strip nothing.
@Suite("Attacker: someone on the network")
struct NetworkAttackerTests {
    @Test("Someone on the network cannot strip TLS: without sslmode a remote database requires it, loopback only prefers it")
    func remoteDatabaseRequiresTLSByDefault() throws {
        for remote in ["postgres://u@db.example/d", "postgres://u@10.0.0.5/d", "postgres://u@[2001:db8::1]/d", "postgres://u@localhost.evil.example/d", "postgres://u@127.db.corp.example/d"] {
            #expect(try PostgresURL(remote).tls == .require, "\(remote)")
        }
        for local in ["postgres://u@localhost/d", "postgres://u@127.0.0.1:5432/d", "postgres://u@[::1]/d"] {
            #expect(try PostgresURL(local).tls == .prefer, "\(local)")
        }
        #expect(try PostgresURL("postgres://u@db.example/d?sslmode=disable").tls == .disable, "the URL may still say otherwise")
    }
}
